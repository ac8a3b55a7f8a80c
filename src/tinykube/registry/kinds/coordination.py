"""coordination.k8s.io/v1 Lease (coordination/validation)."""

from __future__ import annotations

from tinykube.machinery.errors import FieldErrors
from tinykube.registry.kinds.common import Obj, as_dict, is_int

OLDEST_EMULATION_VERSION = "OldestEmulationVersion"


def validate_lease(lease: Obj, old: Obj | None) -> FieldErrors:
    """ValidateLeaseSpec: a positive duration, non-negative transitions, a known strategy."""
    errs = FieldErrors()
    spec = as_dict(lease.get("spec"))
    duration = spec.get("leaseDurationSeconds")
    if is_int(duration) and duration <= 0:
        errs.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0")
    transitions = spec.get("leaseTransitions")
    if is_int(transitions) and transitions < 0:
        errs.invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0")
    strategy = spec.get("strategy")
    if strategy is not None:
        _validate_strategy(errs, strategy)
    if spec.get("preferredHolder") and not strategy:
        errs.forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined")
    return errs


def _validate_strategy(errs: FieldErrors, strategy: str) -> None:
    if "/" not in strategy and strategy != OLDEST_EMULATION_VERSION:
        errs.unsupported("spec.strategy", strategy, [OLDEST_EMULATION_VERSION])

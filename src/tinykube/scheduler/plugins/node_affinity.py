"""NodeAffinity: the pod's nodeSelector and required node affinity must match the node;
preferred node affinity adds the weights of the matching terms, normalized to 0..100."""

from __future__ import annotations

from typing import Any, Sequence

from tinykube.machinery.nodeselection import RequiredNodeAffinity, compile_preferred_terms, preferred_score
from tinykube.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    Status,
    default_normalize,
    unresolvable,
)
from tinykube.scheduler.nodeinfo import NodeInfo

NAME = "NodeAffinity"
ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
ERR_REASON_CONFLICT = "pod affinity terms conflict"
_SCORE_KEY = NAME + "/score"


def required_node_names(pod: dict[str, Any]) -> frozenset[str] | None:
    """Node names the required affinity pins the pod to through `metadata.name In` fields,
    or None when some term leaves all nodes possible (terms are ORed, fields ANDed)."""
    required = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    terms = (required or {}).get("nodeSelectorTerms") or []
    if not terms:
        return None
    names: set[str] = set()
    for term in terms:
        term_names: set[str] | None = None
        for field in (term or {}).get("matchFields") or ():
            if field.get("key") == "metadata.name" and field.get("operator") == "In":
                values = set(field.get("values") or ())
                term_names = values if term_names is None else term_names & values
        if term_names is None:
            return None
        names |= term_names
    return frozenset(names)


class NodeAffinity:
    name = NAME
    _reject = unresolvable(ERR_REASON_POD, plugin=NAME)

    def __init__(self, weight: int = 2) -> None:
        self.weight = weight

    def pre_filter(self, state: CycleState, pod: dict[str, Any]) -> Status:
        required = RequiredNodeAffinity.for_pod(pod)
        if required.empty:
            return SKIP
        state[NAME] = required
        names = required_node_names(pod)
        if names is None:
            return SUCCESS
        if not names:
            return unresolvable(ERR_REASON_CONFLICT)
        return Status(node_names=names)

    def filter(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> Status:
        return SUCCESS if state[NAME].matches(node_info.node) else self._reject

    def pre_score(self, state: CycleState, pod: dict[str, Any], node_infos: Sequence[NodeInfo]) -> Status:
        preferred = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
                     .get("preferredDuringSchedulingIgnoredDuringExecution"))
        terms = compile_preferred_terms(preferred)
        if not terms:
            return SKIP
        state[_SCORE_KEY] = terms
        return SUCCESS

    def score(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> int:
        """The sum of the weights of the preferred terms the node matches (normalized later)."""
        return preferred_score(state[_SCORE_KEY], node_info.node)

    def normalize(self, state: CycleState, pod: dict[str, Any], scores: list[int]) -> None:
        default_normalize(scores)

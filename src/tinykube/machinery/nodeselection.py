"""Node selection: does a node satisfy a pod's nodeSelector and required node affinity?

Used by the scheduler's NodeAffinity plugin and (later) the DaemonSet controller, which must
agree on which nodes a pod may run. Semantics follow component-helpers' nodeaffinity:

- NodeSelectorTerms are ORed; inside a term, matchExpressions (on labels) and matchFields
  (only `metadata.name`) are ANDed.
- A term with neither expressions nor fields matches nothing; so does a selector with no
  terms at all.
- A malformed requirement (unknown operator, `In` without values, `Gt` with a non-integer,
  an invalid key or value, a matchFields operator other than In/NotIn or not exactly one
  value) makes its term match nothing; other terms still count.

Selectors are compiled once (`compile_node_selector`, `RequiredNodeAffinity.for_pod`) so
checking a thousand nodes costs a few dict lookups each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from tinykube.machinery.selectors import key_errors, value_errors

_INT64 = re.compile(r"^[+-]?[0-9]+$")
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1

LabelTest = Callable[[dict[str, str]], bool]


def _parse_int64(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 10, 64), or None when it would fail."""
    if not isinstance(text, str) or not _INT64.match(text):
        return None
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _label_test(expr: dict[str, Any]) -> LabelTest | None:
    """A predicate over node labels for one matchExpressions entry; None if it is malformed."""
    key = expr.get("key") or ""
    op = expr.get("operator") or ""
    values = [v for v in (expr.get("values") or [])]
    if key_errors(key) or any(not isinstance(v, str) or value_errors(v) for v in values):
        return None
    if op == "In":
        if not values:
            return None
        wanted = frozenset(values)
        return lambda labels: key in labels and labels[key] in wanted
    if op == "NotIn":
        if not values:
            return None
        unwanted = frozenset(values)
        return lambda labels: key not in labels or labels[key] not in unwanted
    if op == "Exists":
        return None if values else (lambda labels: key in labels)
    if op == "DoesNotExist":
        return None if values else (lambda labels: key not in labels)
    if op in ("Gt", "Lt"):
        if len(values) != 1:
            return None
        bound = _parse_int64(values[0])
        if bound is None:
            return None
        greater = op == "Gt"

        def compare(labels: dict[str, str]) -> bool:
            have = _parse_int64(labels[key]) if key in labels else None
            if have is None:
                return False
            return have > bound if greater else have < bound

        return compare
    return None


def _field_test(expr: dict[str, Any]) -> Callable[[str], bool] | None:
    """A predicate over the node's name for one matchFields entry; None if malformed.

    Only `metadata.name` is a node field; any other key reads as the empty string.
    """
    key = expr.get("key") or ""
    op = expr.get("operator") or ""
    values = expr.get("values") or []
    if op not in ("In", "NotIn") or len(values) != 1:
        return None
    value = values[0]
    if key != "metadata.name":
        return (lambda name: value == "") if op == "In" else (lambda name: value != "")
    if op == "In":
        return lambda name: name == value
    return lambda name: name != value


@dataclass(frozen=True, slots=True)
class CompiledTerm:
    labels: tuple[LabelTest, ...]
    fields: tuple[Callable[[str], bool], ...]

    def matches(self, labels: dict[str, str], name: str) -> bool:
        for test in self.labels:
            if not test(labels):
                return False
        # upstream only consults field requirements when the node has a name
        if name:
            for ftest in self.fields:
                if not ftest(name):
                    return False
        return True


def _compile_term(term: dict[str, Any] | None) -> CompiledTerm | None:
    """The compiled term, or None when it can match nothing (empty or malformed)."""
    term = term or {}
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return None
    label_tests = []
    for expr in exprs:
        test = _label_test(expr or {})
        if test is None:
            return None
        label_tests.append(test)
    field_tests = []
    for expr in fields:
        ftest = _field_test(expr or {})
        if ftest is None:
            return None
        field_tests.append(ftest)
    return CompiledTerm(tuple(label_tests), tuple(field_tests))


def node_labels(node: dict[str, Any]) -> dict[str, str]:
    return (node.get("metadata") or {}).get("labels") or {}


def node_name(node: dict[str, Any]) -> str:
    return (node.get("metadata") or {}).get("name") or ""


@dataclass(frozen=True, slots=True)
class CompiledNodeSelector:
    """NodeSelectorTerms ready to match; terms that can never match are dropped."""

    terms: tuple[CompiledTerm, ...]

    def matches(self, node: dict[str, Any]) -> bool:
        return self.matches_parts(node_labels(node), node_name(node))

    def matches_parts(self, labels: dict[str, str], name: str) -> bool:
        for term in self.terms:
            if term.matches(labels, name):
                return True
        return False


def compile_node_selector(terms: Iterable[dict[str, Any]] | None) -> CompiledNodeSelector:
    compiled = (_compile_term(t) for t in (terms or ()))
    return CompiledNodeSelector(tuple(t for t in compiled if t is not None))


def node_selector_terms_match(terms: list[dict[str, Any]] | None, node: dict[str, Any]) -> bool:
    """True when `node` matches any of the NodeSelectorTerms (see the module docstring)."""
    return compile_node_selector(terms).matches(node)


@dataclass(frozen=True, slots=True)
class PreferredTerm:
    weight: int
    term: CompiledTerm


def compile_preferred_terms(preferred: Iterable[dict[str, Any]] | None) -> tuple[PreferredTerm, ...]:
    """preferredDuringScheduling terms with a non-zero weight and a usable preference.

    Upstream refuses to score a pod whose preferred terms do not parse; API validation
    keeps such pods out, so here a malformed term simply never matches.
    """
    out = []
    for item in preferred or ():
        weight = int((item or {}).get("weight") or 0)
        term = _compile_term((item or {}).get("preference"))
        if weight and term is not None:
            out.append(PreferredTerm(weight, term))
    return tuple(out)


def preferred_score(terms: tuple[PreferredTerm, ...], node: dict[str, Any]) -> int:
    """The sum of the weights of the preferred terms that `node` matches."""
    labels, name = node_labels(node), node_name(node)
    return sum(t.weight for t in terms if t.term.matches(labels, name))


@dataclass(frozen=True, slots=True)
class RequiredNodeAffinity:
    """A pod's spec.nodeSelector (all pairs must match) AND its required node affinity."""

    selector: tuple[tuple[str, str], ...] | None
    affinity: CompiledNodeSelector | None

    @classmethod
    def for_pod(cls, pod: dict[str, Any]) -> RequiredNodeAffinity:
        spec = pod.get("spec") or {}
        node_selector = spec.get("nodeSelector")
        selector = tuple(node_selector.items()) if node_selector else None
        required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                    .get("requiredDuringSchedulingIgnoredDuringExecution"))
        affinity = None
        if required is not None:
            affinity = compile_node_selector(required.get("nodeSelectorTerms"))
        return cls(selector, affinity)

    @property
    def empty(self) -> bool:
        return self.selector is None and self.affinity is None

    def matches(self, node: dict[str, Any]) -> bool:
        labels = node_labels(node)
        if self.selector is not None:
            for key, value in self.selector:
                if labels.get(key) != value:
                    return False
        if self.affinity is not None:
            return self.affinity.matches_parts(labels, node_name(node))
        return True


def pod_matches_node_selector_and_affinity(pod: dict[str, Any], node: dict[str, Any]) -> bool:
    """True when `node` satisfies the pod's spec.nodeSelector and its
    requiredDuringSchedulingIgnoredDuringExecution node affinity."""
    return RequiredNodeAffinity.for_pod(pod).matches(node)

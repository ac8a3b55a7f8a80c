"""The scheduling framework: run filter plugins to find feasible nodes, score plugins to rank them.

One call to `Framework.schedule` is one scheduling cycle of kube-scheduler's
schedulePod/findNodesThatFitPod/prioritizeNodes, done in-process and sequentially:

- PreFilter each plugin once per pod (it may precompute into the CycleState, return Skip to
  sit out this pod's filtering, narrow the candidate nodes, or reject the pod outright);
- Filter nodes starting at `start_index` and wrapping around, stopping once
  `num_feasible_nodes_to_find` nodes passed (so large clusters are sampled, and successive
  pods look at different nodes);
- a single feasible node wins without scoring; otherwise each score plugin's scores are
  normalized to 0..100, weighted and summed, and the best node wins (ties broken randomly).

On failure the result carries upstream's FitError text, including the "preemption: ..." part
the default preemption plugin adds. Preemption itself (evicting lower-priority pods) is not
done here; when evicting would help, the candidate nodes are reported instead.
"""

from __future__ import annotations

import enum
import random
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol, Sequence

import orjson

from tinykube.scheduler.nodeinfo import NodeInfo

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5

NO_NODES_AVAILABLE = "no nodes available to schedule pods"
PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_PREEMPTION_VICTIMS = "No preemption victims found for incoming pod"
NOT_ELIGIBLE_PREEMPT_NEVER = "not eligible due to preemptionPolicy=Never."


class Code(enum.Enum):
    SUCCESS = "Success"
    ERROR = "Error"
    UNSCHEDULABLE = "Unschedulable"
    UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"
    SKIP = "Skip"


_REJECTED = frozenset({Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE})


@dataclass(frozen=True, slots=True)
class Status:
    """A plugin's verdict. `reasons` are the user-visible strings counted in FitError;
    `node_names` lets a PreFilter restrict the cycle to those nodes."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""
    node_names: frozenset[str] | None = None

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)

    def is_success(self) -> bool:
        return self.code is Code.SUCCESS

    def is_skip(self) -> bool:
        return self.code is Code.SKIP

    def is_rejected(self) -> bool:
        return self.code in _REJECTED

    def with_plugin(self, plugin: str) -> Status:
        if self.plugin == plugin:
            return self
        return Status(self.code, self.reasons, plugin, self.node_names)


SUCCESS = Status()
SKIP = Status(Code.SKIP)


def unschedulable(*reasons: str, plugin: str = "") -> Status:
    return Status(Code.UNSCHEDULABLE, reasons, plugin)


def unresolvable(*reasons: str, plugin: str = "") -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons, plugin)


def error(message: str, plugin: str = "") -> Status:
    return Status(Code.ERROR, (message,), plugin)


class CycleState(dict[str, Any]):
    """Per-pod scratch space for one cycle; plugins keep their precomputed data under their name."""


class FilterPlugin(Protocol):
    """`pre_filter` runs once per pod: Skip leaves this pod's nodes unchecked by the plugin;
    a Success carrying `node_names` limits the cycle to those nodes; Unschedulable(AndUnresolvable)
    rejects the pod on every node. `filter` then judges one node (Success or a rejection with
    user-visible reasons)."""

    name: str

    def pre_filter(self, state: CycleState, pod: dict[str, Any]) -> Status: ...

    def filter(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> Status: ...


class ScorePlugin(Protocol):
    """`score` returns an int; plugins whose raw scores are not already 0..100 also define
    `normalize(state, pod, scores: list[int]) -> None` to rescale in place (the scores of
    the cycle's feasible nodes, in their order, as upstream's NodeScoreList)."""

    name: str
    weight: int

    def pre_score(self, state: CycleState, pod: dict[str, Any], node_infos: Sequence[NodeInfo]) -> Status: ...

    def score(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> int: ...


def num_feasible_nodes_to_find(num_all_nodes: int, percentage_of_nodes_to_score: int | None = None) -> int:
    """How many feasible nodes to find before scoring (kube-scheduler's adaptive sampling):
    all nodes below 100; otherwise the given percentage, or when unset/0
    max(5, 50 - n/125) percent, but never fewer than 100 nodes."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    percentage = percentage_of_nodes_to_score or 0
    if percentage == 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    num_nodes = num_all_nodes * percentage // 100
    return max(num_nodes, MIN_FEASIBLE_NODES_TO_FIND)


def fit_error_message(
    num_all_nodes: int,
    statuses: dict[str, Status],
    absent_status: Status | None = None,
    pre_filter_msg: str = "",
    post_filter_msg: str = "",
) -> str:
    """Upstream FitError.Error(): "0/N nodes are available: <count reason, ...>. <post-filter>".

    Each reason is counted over the nodes that reported it (nodes with no explicit status
    count under `absent_status`), rendered "<count> <reason>" and sorted as strings.
    """
    msg = f"0/{num_all_nodes} nodes are available:"
    if pre_filter_msg:
        msg += f" {pre_filter_msg}."
    else:
        counts: Counter[str] = Counter()
        for status in statuses.values():
            counts.update(status.reasons)
        missing = num_all_nodes - len(statuses)
        if missing > 0 and absent_status is not None:
            for reason in absent_status.reasons:
                counts[reason] += missing
        histogram = sorted(f"{count} {reason}" for reason, count in counts.items())
        if histogram:
            msg += f" {', '.join(histogram)}."
    if post_filter_msg:
        msg += f" {post_filter_msg}"
    return msg


@dataclass
class ScheduleResult:
    """The outcome of one cycle. On success `node_name` is set and `message` is empty."""

    node_name: str | None
    code: Code = Code.SUCCESS
    message: str = ""
    evaluated_nodes: int = 0
    feasible_nodes: int = 0
    next_start_index: int = 0
    statuses: dict[str, Status] = field(default_factory=dict)
    unschedulable_plugins: frozenset[str] = frozenset()
    # nodes where evicting lower-priority pods would make room (preemption is not done here)
    preemption_candidates: tuple[str, ...] = ()
    # the scored nodes and their totals, in the same order (kept as lists: a dict per cycle
    # cost more than the scoring it reports)
    scored: tuple[Sequence[NodeInfo], Sequence[int]] = ((), ())

    @property
    def scores(self) -> dict[str, int]:
        """Total score by node name (empty when a single feasible node needed no scoring)."""
        nodes, totals = self.scored
        return {ni.name: total for ni, total in zip(nodes, totals)}


@dataclass
class _PreFilterOutcome:
    filters: tuple[FilterPlugin, ...] = ()  # the plugins whose Filter runs for this pod
    error: Status | None = None
    rejection: Status | None = None  # applies to every node
    node_names: frozenset[str] | None = None  # None: all nodes
    narrowing_plugins: frozenset[str] = frozenset()
    unschedulable_plugins: frozenset[str] = frozenset()


def _pod_priority(pod: dict[str, Any]) -> int:
    return int((pod.get("spec") or {}).get("priority") or 0)


def _plugin_list(names: Iterable[str]) -> str:
    """Go's %v of a sorted []string: "[A B]"."""
    return "[" + " ".join(sorted(names)) + "]"


class Framework:
    def __init__(
        self,
        filters: Sequence[FilterPlugin],
        scorers: Sequence[ScorePlugin],
        rng: random.Random | None = None,
        percentage_of_nodes_to_score: int | None = None,
    ) -> None:
        self.filters = tuple(filters)
        self.scorers = tuple(scorers)
        self.rng = rng if rng is not None else random.Random()
        self.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        self._verdicts = VerdictCache()

    # -- the cycle ---------------------------------------------------------------------

    def schedule(self, pod: dict[str, Any], node_infos: Sequence[NodeInfo], start_index: int = 0) -> ScheduleResult:
        num_all = len(node_infos)
        if num_all == 0:
            return ScheduleResult(None, Code.UNSCHEDULABLE_AND_UNRESOLVABLE, NO_NODES_AVAILABLE,
                                  next_start_index=start_index)
        state = CycleState()
        state[VERDICTS] = self._verdicts.for_pod(pod)
        pre = self._run_pre_filters(state, pod)
        if pre.error is not None:
            return ScheduleResult(None, Code.ERROR, pre.error.message, next_start_index=start_index)
        if pre.rejection is not None:
            # every node shares the PreFilter's verdict
            rejection = pre.rejection
            message = fit_error_message(
                num_all, {}, rejection, rejection.message,
                self._post_filter(state, pod, node_infos, {}, rejection, pre.filters)[0])
            return ScheduleResult(None, Code.UNSCHEDULABLE, message, next_start_index=start_index,
                                  unschedulable_plugins=pre.unschedulable_plugins)

        if state.get(NO_VERDICT_CACHE):
            state[VERDICTS] = {}  # a plugin's verdicts depend on more than the pod and the node
        nodes: Sequence[NodeInfo] = node_infos
        absent: Status | None = None
        if pre.node_names is not None:
            nodes = [ni for ni in node_infos if ni.name in pre.node_names]
            absent = unresolvable(f"node(s) didn't satisfy plugin(s) {_plugin_list(pre.narrowing_plugins)}")

        feasible, entries, statuses, failure = self._find_feasible(state, pod, nodes, start_index, pre.filters)
        evaluated = len(feasible) + len(statuses)
        next_start = (start_index + evaluated) % num_all
        if failure is not None:
            return ScheduleResult(None, Code.ERROR, failure.message, next_start_index=next_start)
        unschedulable_plugins = {st.plugin for st in statuses.values()} | pre.unschedulable_plugins

        if not feasible:
            post_msg, candidates = self._post_filter(state, pod, node_infos, statuses, absent, pre.filters)
            return ScheduleResult(
                None, Code.UNSCHEDULABLE, fit_error_message(num_all, statuses, absent, "", post_msg),
                evaluated_nodes=evaluated, next_start_index=next_start, statuses=statuses,
                unschedulable_plugins=frozenset(unschedulable_plugins), preemption_candidates=candidates)

        result = ScheduleResult(None, evaluated_nodes=evaluated, feasible_nodes=len(feasible),
                                next_start_index=next_start, statuses=statuses,
                                unschedulable_plugins=frozenset(unschedulable_plugins))
        if len(feasible) == 1:
            result.node_name = feasible[0].name
            return result
        totals = self._score(state, pod, feasible, entries)
        if isinstance(totals, Status):
            result.code, result.message = Code.ERROR, totals.message
            return result
        result.scored = (feasible, totals)
        result.node_name = self._select_host(feasible, totals)
        return result

    # -- steps -------------------------------------------------------------------------

    def _run_pre_filters(self, state: CycleState, pod: dict[str, Any]) -> _PreFilterOutcome:
        """Run every PreFilter: drop the plugins that Skip, intersect node restrictions, and
        stop at the first UnschedulableAndUnresolvable (an Unschedulable one is kept, but the
        rest still run, as upstream)."""
        out = _PreFilterOutcome()
        active: list[FilterPlugin] = []
        narrowing: set[str] = set()
        node_names: frozenset[str] | None = None
        soft_rejection: Status | None = None
        for pl in self.filters:
            st = pl.pre_filter(state, pod)
            if st.code is Code.SKIP:
                continue
            active.append(pl)
            if st.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                out.rejection = st.with_plugin(pl.name)
                out.unschedulable_plugins = frozenset({pl.name})
                return out
            if st.code is Code.UNSCHEDULABLE:
                soft_rejection = st.with_plugin(pl.name)
                continue
            if st.code is not Code.SUCCESS:
                out.error = error(f'running PreFilter plugin "{pl.name}": {st.message}', pl.name)
                return out
            if st.node_names is not None:
                narrowing.add(pl.name)
                node_names = st.node_names if node_names is None else node_names & st.node_names
                if not node_names:
                    msg = (f"node(s) didn't satisfy plugin {next(iter(narrowing))}" if len(narrowing) == 1
                           else f"node(s) didn't satisfy plugin(s) {_plugin_list(narrowing)} simultaneously")
                    out.rejection = unresolvable(msg)
                    out.unschedulable_plugins = frozenset(narrowing)
                    return out
        out.filters = tuple(active)
        out.unschedulable_plugins = frozenset(narrowing)
        if soft_rejection is not None:
            out.rejection = soft_rejection
            out.unschedulable_plugins |= {soft_rejection.plugin}
            return out
        out.node_names = node_names
        out.narrowing_plugins = frozenset(narrowing)
        return out

    def _run_filters(self, filters: tuple[FilterPlugin, ...], state: CycleState, pod: dict[str, Any],
                     ni: NodeInfo) -> Status:
        for pl in filters:
            st = pl.filter(state, pod, ni)
            if st.code is not Code.SUCCESS:
                if st.code in _REJECTED:
                    return st.with_plugin(pl.name)
                return error(f'running "{pl.name}" filter plugin: {st.message}', pl.name)
        return SUCCESS

    def _find_feasible(self, state: CycleState, pod: dict[str, Any], nodes: Sequence[NodeInfo], start_index: int,
                       filters: tuple[FilterPlugin, ...]
                       ) -> tuple[list[NodeInfo], list[list[Any]], dict[str, Status], Status | None]:
        """Feasible nodes (up to the sampling limit) with their verdict-cache entries, the
        rejected nodes' statuses, and the error status if a filter failed outright.

        Nodes are visited from `start_index`, wrapping around; a node whose generation still
        matches its cached entry is judged by that entry alone (the common case once a
        ReplicaSet's first pod went through)."""
        n = len(nodes)
        to_find = num_feasible_nodes_to_find(n, self.percentage_of_nodes_to_score)
        if not self.scorers:
            to_find = min(to_find, 1)
        feasible: list[NodeInfo] = []
        entries: list[list[Any]] = []
        statuses: dict[str, Status] = {}
        if not to_find:
            return feasible, entries, statuses, None
        run = self._run_filters
        verdicts: dict[str, list[Any]] = state[VERDICTS]
        lookup = verdicts.get
        unscored = len(self.scorers)
        start = start_index % n
        order = list(nodes[start:]) + list(nodes[:start]) if start else nodes
        found = 0
        for ni in order:
            entry = lookup(ni.name)
            if entry is None or entry[0] != ni.generation:
                st = run(filters, state, pod, ni) if filters else SUCCESS
                entry = verdicts[ni.name] = [ni.generation, st, [None] * unscored, None]
            else:
                st = entry[1]
            if st is SUCCESS or st.code is Code.SUCCESS:
                feasible.append(ni)
                entries.append(entry)
                found += 1
                if found >= to_find:
                    break
            elif st.code is Code.ERROR:
                return feasible, entries, statuses, st
            else:
                statuses[ni.name] = st
        return feasible, entries, statuses, None

    def _score(self, state: CycleState, pod: dict[str, Any], nodes: list[NodeInfo],
               entries: list[list[Any]]) -> list[int] | Status:
        """Weighted sum of every active plugin's (normalized) score per node, in `nodes` order.

        Raw scores come from the verdict-cache `entries` (one per node) when the node has not
        changed. Plugins without a normalize step add a fixed amount per node, cached as one
        sum; a normalizing plugin whose raw scores are all equal adds the same amount
        everywhere, so it is normalized once instead of per node.
        """
        active: list[tuple[int, ScorePlugin]] = []
        for index, pl in enumerate(self.scorers):
            st = pl.pre_score(state, pod, nodes)
            if st.code is Code.SKIP:
                continue
            if st.code is not Code.SUCCESS:
                return error(f'running PreScore plugin "{pl.name}": {st.message}', pl.name)
            active.append((index, pl))
        fixed = [(i, pl) for i, pl in active if getattr(pl, "normalize", None) is None]
        normalized = [(i, pl) for i, pl in active if getattr(pl, "normalize", None) is not None]
        totals: list[int] = []
        for ni, entry in zip(nodes, entries):
            if entry[3] is None:
                raw = entry[2]
                for i, pl in active:
                    if raw[i] is None:
                        raw[i] = pl.score(state, pod, ni)
                total = 0
                for i, pl in fixed:
                    if not MIN_NODE_SCORE <= raw[i] <= MAX_NODE_SCORE:
                        return _invalid_score(pl, raw[i])
                    total += raw[i] * pl.weight
                entry[3] = total
            totals.append(entry[3])
        for i, pl in normalized:
            values = [entry[2][i] for entry in entries]
            if min(values) == max(values):  # the same everywhere: normalize one, add it to all
                one = values[:1]
                pl.normalize(state, pod, one)  # type: ignore[attr-defined]
                value = one[0]
                if not MIN_NODE_SCORE <= value <= MAX_NODE_SCORE:
                    return _invalid_score(pl, value)
                if value:
                    added = value * pl.weight
                    totals = [t + added for t in totals]
                continue
            pl.normalize(state, pod, values)  # type: ignore[attr-defined]
            if not MIN_NODE_SCORE <= min(values) <= max(values) <= MAX_NODE_SCORE:
                bad = next(v for v in values if not MIN_NODE_SCORE <= v <= MAX_NODE_SCORE)
                return _invalid_score(pl, bad)
            weight = pl.weight
            totals = [t + v * weight for t, v in zip(totals, values)]
        return totals

    def _select_host(self, nodes: list[NodeInfo], totals: list[int]) -> str:
        """The highest total; among equals each is equally likely."""
        best_score = max(totals)
        if totals.count(best_score) == 1:
            return nodes[totals.index(best_score)].name
        return self.rng.choice([ni.name for ni, t in zip(nodes, totals) if t == best_score])

    def _post_filter(self, state: CycleState, pod: dict[str, Any], node_infos: Sequence[NodeInfo],
                     statuses: dict[str, Status], absent: Status | None,
                     filters: tuple[FilterPlugin, ...]) -> tuple[str, tuple[str, ...]]:
        """What default preemption would say ("preemption: ..."), and where it would evict.

        Nodes rejected as UnschedulableAndUnresolvable are not helped by preemption; on the
        others, the pod's lower-priority pods are the potential victims: none means "no
        victims", otherwise the filters rerun as if they were gone.
        """
        if (pod.get("spec") or {}).get("preemptionPolicy") == "Never":
            return f"preemption: {NOT_ELIGIBLE_PREEMPT_NEVER}", ()
        priority = _pod_priority(pod)
        outcome: dict[str, Status] = {}
        candidates: list[str] = []
        for ni in node_infos:
            st = statuses.get(ni.name, absent)
            if st is None or st.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                outcome[ni.name] = unresolvable(PREEMPTION_NOT_HELPFUL)
                continue
            victims = [p for p in ni.pods.values() if _pod_priority(p) < priority]
            if not victims:
                outcome[ni.name] = unresolvable(NO_PREEMPTION_VICTIMS)
                continue
            trial = ni.clone()
            for victim in victims:
                trial.remove_pod(victim)
            st = self._run_filters(filters, state, pod, trial)
            if st.code is Code.SUCCESS:
                candidates.append(ni.name)
            else:
                outcome[ni.name] = st
        if candidates:
            return "", tuple(candidates)
        return "preemption: " + fit_error_message(len(node_infos), outcome), ()


def _invalid_score(pl: ScorePlugin, value: int) -> Status:
    return error(f'plugin "{pl.name}" returns an invalid score {value}, it should in the range of '
                 f'[{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing', pl.name)


VERDICTS = "framework/verdicts"
NO_VERDICT_CACHE = "framework/no-verdict-cache"  # set by a PreFilter whose plugin reads other objects
MAX_POD_SHAPES = 64


class VerdictCache:
    """Filter verdicts and raw scores per (pod shape, node), valid while the node's generation holds.

    Pods of one ReplicaSet or Job share their spec and owner, so after the first of them the
    others need only a dictionary lookup per node instead of every plugin, until the node
    changes (a pod lands on it, its labels or taints change). Every plugin's Filter and Score
    depend only on the pod and that one node, which is what makes this safe; normalization
    still runs over each cycle's feasible nodes.
    """

    def __init__(self, max_shapes: int = MAX_POD_SHAPES) -> None:
        self.max_shapes = max_shapes
        self._by_shape: OrderedDict[bytes, dict[str, list[Any]]] = OrderedDict()

    @staticmethod
    def shape(pod: dict[str, Any]) -> bytes:
        """What the plugins may read of a pod, as bytes. Volume mounts, and volumes other than
        claims, are left out: no plugin reads them, and the service-account token volume's
        random name (kube-api-access-xxxxx) would make every pod a shape of its own."""
        meta = pod.get("metadata") or {}
        spec = dict(pod.get("spec") or {})
        spec.pop("nodeName", None)
        spec["volumes"] = [v for v in spec.get("volumes") or []
                           if isinstance(v, dict) and (v.get("persistentVolumeClaim") or v.get("ephemeral"))]
        for kind in ("initContainers", "containers", "ephemeralContainers"):
            if isinstance(spec.get(kind), list):
                spec[kind] = [{k: v for k, v in c.items() if k != "volumeMounts"} if isinstance(c, dict) else c
                              for c in spec[kind]]
        owner = next((r.get("uid") for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
        return orjson.dumps([spec, owner, meta.get("labels")], option=orjson.OPT_SORT_KEYS)

    def for_pod(self, pod: dict[str, Any]) -> dict[str, list[Any]]:
        key = self.shape(pod)
        entries = self._by_shape.get(key)
        if entries is None:
            entries = self._by_shape[key] = {}
            while len(self._by_shape) > self.max_shapes:
                self._by_shape.popitem(last=False)
        else:
            self._by_shape.move_to_end(key)
        return entries


def default_normalize(scores: list[int], reverse: bool = False) -> None:
    """Rescale scores in place from [0, max] to [0, 100] (upstream DefaultNormalizeScore);
    with `reverse`, lower raw scores end up higher. All-zero input becomes all 0 (or all 100
    reversed)."""
    highest = max(scores, default=0)
    if highest == 0:
        if reverse:
            scores[:] = [MAX_NODE_SCORE] * len(scores)
        return
    if reverse:
        scores[:] = [MAX_NODE_SCORE - MAX_NODE_SCORE * value // highest for value in scores]
    else:
        scores[:] = [MAX_NODE_SCORE * value // highest for value in scores]


def default_framework(rng: random.Random | None = None,
                      percentage_of_nodes_to_score: int | None = None,
                      volume_binding: FilterPlugin | None = None) -> Framework:
    """The default profile: upstream's in-tree filters in upstream order, and its scores with
    upstream weights (OwnerSpread standing in for PodTopologySpread's system defaults).
    VolumeBinding reads claims and volumes from informers, so the scheduler passes it in."""
    from tinykube.scheduler.plugins.balanced_allocation import BalancedAllocation
    from tinykube.scheduler.plugins.node_affinity import NodeAffinity
    from tinykube.scheduler.plugins.node_name import NodeName
    from tinykube.scheduler.plugins.node_ports import NodePorts
    from tinykube.scheduler.plugins.node_resources_fit import NodeResourcesFit
    from tinykube.scheduler.plugins.node_unschedulable import NodeUnschedulable
    from tinykube.scheduler.plugins.owner_spread import OwnerSpread
    from tinykube.scheduler.plugins.taint_toleration import TaintToleration

    taints, affinity, fit = TaintToleration(weight=3), NodeAffinity(weight=2), NodeResourcesFit(weight=1)
    return Framework(
        filters=[NodeUnschedulable(), NodeName(), taints, affinity, NodePorts(), fit,
                 *([volume_binding] if volume_binding is not None else [])],
        scorers=[taints, affinity, fit, OwnerSpread(weight=2), BalancedAllocation(weight=1)],
        rng=rng,
        percentage_of_nodes_to_score=percentage_of_nodes_to_score,
    )

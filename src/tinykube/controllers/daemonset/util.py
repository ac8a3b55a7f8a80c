"""Pure DaemonSet arithmetic: which nodes should run a daemon pod, what the pod looks like,
what to create or delete per node, rolling-update fenceposts and plans, and status counts.

Upstream: pkg/controller/daemon/daemon_controller.go (NodeShouldRunDaemonPod,
podsShouldBeOnNode, updateDaemonSetStatus), update.go (rollingUpdate, findUpdatedPodsOnNode,
updatedDesiredNodeCounts) and daemon/util (tolerations, placement affinity, surge/unavailable
counts). Free of I/O so every rule is checked by a table; the controller only applies plans.

Node matching is the scheduler's: `RequiredNodeAffinity` (nodeSelector plus required node
affinity) from machinery/nodeselection.py and `find_untolerated_taint` from machinery/taints.py,
so the controller and the scheduler never disagree about a node.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from tinykube.clock import parse_time
from tinykube.controllers.deployment.util import scaled_value
from tinykube.controllers.podutil import PodFacts
from tinykube.machinery.nodeselection import RequiredNodeAffinity
from tinykube.machinery.taints import NO_EXECUTE, NO_SCHEDULE, find_untolerated_taint
from tinykube.registry.kinds.apps import TEMPLATE_GENERATION

Obj = dict[str, Any]

HASH_LABEL = "controller-revision-hash"  # apps.DefaultDaemonSetUniqueLabelKey
GENERATION_LABEL = "pod-template-generation"  # extensions.DaemonSetTemplateGenerationKey
NAME_FIELD = "metadata.name"

# The tolerations every daemon pod gets (AddOrUpdateDaemonPodTolerations): node problems never
# evict a daemon, and conditions that keep ordinary pods off a node do not keep daemons off.
DAEMON_TOLERATIONS: tuple[tuple[str, str], ...] = (
    ("node.kubernetes.io/not-ready", NO_EXECUTE),
    ("node.kubernetes.io/unreachable", NO_EXECUTE),
    ("node.kubernetes.io/disk-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/memory-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/pid-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/unschedulable", NO_SCHEDULE),
)
HOST_NETWORK_TOLERATION = ("node.kubernetes.io/network-unavailable", NO_SCHEDULE)

_FILTER_EFFECTS = frozenset({NO_SCHEDULE, NO_EXECUTE})
_EXECUTE_EFFECTS = frozenset({NO_EXECUTE})


# ----------------------------------------------------------------------------- the daemon pod

def _same_toleration(a: Obj, b: Obj) -> bool:
    """Toleration.MatchToleration: same key, operator, value and effect."""
    return all((a.get(k) or "") == (b.get(k) or "") for k in ("key", "operator", "value", "effect"))


def add_or_update_toleration(tolerations: list[Obj], wanted: Obj) -> list[Obj]:
    """AddOrUpdateTolerationInPodSpec: a matching toleration is replaced by `wanted` (dropping,
    say, a tolerationSeconds), otherwise `wanted` is appended."""
    out, replaced = [], False
    for tol in tolerations:
        if _same_toleration(tol, wanted):
            out.append(dict(wanted))
            replaced = True
        else:
            out.append(tol)
    if not replaced:
        out.append(dict(wanted))
    return out


def add_daemon_tolerations(spec: Obj) -> None:
    """Give a pod spec the daemon tolerations, in place (network-unavailable only with hostNetwork)."""
    wanted = list(DAEMON_TOLERATIONS) + ([HOST_NETWORK_TOLERATION] if spec.get("hostNetwork") else [])
    tolerations = list(spec.get("tolerations") or [])
    for key, effect in wanted:
        tolerations = add_or_update_toleration(tolerations, {"key": key, "operator": "Exists", "effect": effect})
    spec["tolerations"] = tolerations


def template_generation(ds: Obj) -> int | None:
    """The template generation from the apps/v1 annotation (None when absent or unparsable)."""
    value = ((ds.get("metadata") or {}).get("annotations") or {}).get(TEMPLATE_GENERATION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def daemon_pod_template(ds: Obj, hash_: str) -> Obj:
    """CreatePodTemplate: the DaemonSet's template with daemon tolerations, the template
    generation and the revision hash labels."""
    template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
    meta = template.setdefault("metadata", {})
    spec = template.setdefault("spec", {})
    add_daemon_tolerations(spec)
    labels = dict(meta.get("labels") or {})
    generation = template_generation(ds)
    if generation is not None:
        labels[GENERATION_LABEL] = str(generation)
    if hash_:
        labels[HASH_LABEL] = hash_
    meta["labels"] = labels
    return template


def node_name_affinity(affinity: Obj | None, node_name: str) -> Obj:
    """ReplaceDaemonSetPodNodeNameNodeAffinity: the required node affinity becomes the single
    term `metadata.name In [node]` (other required terms were already checked by the
    controller); preferred terms and pod (anti-)affinity are kept."""
    out = copy.deepcopy(affinity or {})
    node_affinity = out.setdefault("nodeAffinity", {})
    required = node_affinity.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    required["nodeSelectorTerms"] = [{"matchFields": [{"key": NAME_FIELD, "operator": "In", "values": [node_name]}]}]
    return out


def target_node_name(pod: Obj) -> str | None:
    """GetTargetNodeName: the bound node, else the node the placement affinity names."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or ():
        for expr in (term or {}).get("matchFields") or ():
            if expr.get("key") == NAME_FIELD and expr.get("operator") == "In":
                values = expr.get("values") or []
                return values[0] if len(values) == 1 else None
    return None


# ----------------------------------------------------------------------------- node eligibility

@dataclass(frozen=True, slots=True)
class Verdict:
    """NodeShouldRunDaemonPod's answer: `should_run` a new daemon pod here; `should_continue`
    running one already here (true on a node whose NoSchedule taint came after the pod)."""

    should_run: bool
    should_continue: bool


NOT_HERE = Verdict(False, False)
RUN = Verdict(True, True)
STAY_ONLY = Verdict(False, True)


@dataclass(frozen=True, slots=True)
class Placement:
    """A DaemonSet's placement rules compiled once per sync, to judge a thousand nodes cheaply."""

    node_name: str
    affinity: RequiredNodeAffinity
    tolerations: tuple[Obj, ...]

    @classmethod
    def of(cls, ds: Obj) -> Placement:
        spec = copy.deepcopy(((ds.get("spec") or {}).get("template") or {}).get("spec") or {})
        add_daemon_tolerations(spec)
        return cls(spec.get("nodeName") or "", RequiredNodeAffinity.for_pod({"spec": spec}),
                   tuple(spec["tolerations"]))

    def verdict(self, node: Obj) -> Verdict:
        if self.node_name and self.node_name != node["metadata"]["name"]:
            return NOT_HERE
        if not self.affinity.matches(node):
            return NOT_HERE
        taints = (node.get("spec") or {}).get("taints")
        if not taints or find_untolerated_taint(taints, self.tolerations, _FILTER_EFFECTS) is None:
            return RUN
        if find_untolerated_taint(taints, self.tolerations, _EXECUTE_EFFECTS) is None:
            return STAY_ONLY
        return NOT_HERE


# ----------------------------------------------------------------------------- pods per node

def _created(pod: Obj) -> float:
    text = pod["metadata"].get("creationTimestamp")
    try:
        return parse_time(text).timestamp() if text else 0.0
    except ValueError:
        return 0.0


def pod_order(pod: Obj) -> tuple:
    """podByCreationTimestampAndPhase: bound pods first, then oldest, then by name."""
    return (0 if (pod.get("spec") or {}).get("nodeName") else 1, _created(pod), pod["metadata"].get("name", ""))


def is_updated(pod: Obj, hash_: str) -> bool:
    """IsPodUpdated. Upstream also compares the template-generation label, but formats the
    generation pointer rather than its value, so in effect only the hash decides; so here."""
    return bool(hash_) and (pod["metadata"].get("labels") or {}).get(HASH_LABEL) == hash_


def phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def deleting(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


@dataclass
class NodePlan:
    """What podsShouldBeOnNode decides for one node. `failed` pods are deleted unless the
    caller's per-node backoff holds them back; `succeeded` pods are always deleted."""

    create: bool = False
    delete: list[Obj] = field(default_factory=list)
    failed: list[Obj] = field(default_factory=list)
    succeeded: list[Obj] = field(default_factory=list)


def plan_node(verdict: Verdict, pods: list[Obj] | None, allows_surge: bool, hash_: str,
              facts: Callable[[Obj], PodFacts], min_ready: int, now: float) -> NodePlan:
    """Create or delete daemon pods on one node (`pods` None: no pod targets this node)."""
    plan = NodePlan()
    if verdict.should_run and pods is None:
        plan.create = True
        return plan
    if not verdict.should_continue:
        plan.delete = [p for p in pods or () if not deleting(p)]
        return plan
    running = []
    for pod in pods or ():
        if deleting(pod):
            continue
        if phase(pod) == "Failed":
            plan.failed.append(pod)
        elif phase(pod) == "Succeeded":
            plan.succeeded.append(pod)
        else:
            running.append(pod)
    running.sort(key=pod_order)
    if not allows_surge:
        plan.delete = running[1:]  # keep the oldest
        return plan
    if len(running) <= 1:
        plan.create = not running and verdict.should_run
        return plan
    # surging: at most the oldest new pod and the oldest old pod survive, and the old one only
    # while it is ready and the new one not yet available
    oldest_new = oldest_old = None
    for pod in running:
        if is_updated(pod, hash_):
            if oldest_new is None:
                oldest_new = pod
                continue
        elif oldest_old is None:
            oldest_old = pod
            continue
        plan.delete.append(pod)
    if oldest_new is not None and oldest_old is not None:
        if not facts(oldest_old).ready or facts(oldest_new).available(min_ready, now):
            plan.delete.append(oldest_old)
    return plan


def unscheduled_without_node(nodes_to_pods: Mapping[str, list[Obj]], node_names: set[str]) -> list[Obj]:
    """getUnscheduledPodsWithoutNode: unbound pods aimed at a node that is gone (PodGC only
    collects bound pods)."""
    return [p for name, pods in nodes_to_pods.items() if name not in node_names
            for p in pods if not (p.get("spec") or {}).get("nodeName")]


# ----------------------------------------------------------------------------- fenceposts

def is_rolling_update(ds: Obj) -> bool:
    return (((ds.get("spec") or {}).get("updateStrategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"


def _rolling(ds: Obj) -> Obj | None:
    if not is_rolling_update(ds):
        return None
    return ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate")


def surge_count(ds: Obj, desired: int) -> int:
    """SurgeCount: maxSurge of `desired`, percentages rounded up (0 unless RollingUpdate)."""
    rolling = _rolling(ds)
    return scaled_value((rolling or {}).get("maxSurge"), desired, True) if rolling else 0


def unavailable_count(ds: Obj, desired: int) -> int:
    """UnavailableCount: maxUnavailable of `desired`, percentages rounded up as upstream does
    for DaemonSets (unlike Deployments, which round it down)."""
    rolling = _rolling(ds)
    return scaled_value((rolling or {}).get("maxUnavailable"), desired, True) if rolling else 0


def allows_surge(ds: Obj) -> bool:
    return surge_count(ds, 1) > 0


def fenceposts(ds: Obj, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) for `desired` nodes; an impossible 0/0 reads as unavailable 1."""
    surge, unavailable = surge_count(ds, desired), unavailable_count(ds, desired)
    if desired > 0 and surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


# ----------------------------------------------------------------------------- rolling update

def updated_pods_on_node(pods: Iterable[Obj], hash_: str) -> tuple[Obj | None, Obj | None, bool]:
    """findUpdatedPodsOnNode: (new, old, ok) among live pods; not ok with two of either kind."""
    new = old = None
    for pod in pods:
        if deleting(pod):
            continue
        if is_updated(pod, hash_):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


@dataclass
class RollingPlan:
    delete: list[Obj] = field(default_factory=list)
    create: list[str] = field(default_factory=list)  # node names


def plan_rolling_update(nodes_to_pods: Mapping[str, list[Obj]], desired_nodes: Iterable[str], hash_: str,
                        max_surge: int, max_unavailable: int, should_run: Callable[[str], bool],
                        available: Callable[[Obj], bool]) -> RollingPlan:
    """rollingUpdate: which old pods to delete (and, when surging, on which nodes to start new
    pods) without more than maxUnavailable nodes lacking an available pod, or more than
    maxSurge extra pods. Nodes that should run a pod but have none count as unavailable."""
    per_node: dict[str, list[Obj]] = {name: list(pods) for name, pods in nodes_to_pods.items()}
    desired = 0
    for name in desired_nodes:
        desired += 1
        per_node.setdefault(name, [])
    plan = RollingPlan()
    if max_surge == 0:
        unavailable = 0
        candidates: list[Obj] = []
        for name in sorted(per_node):
            new, old, ok = updated_pods_on_node(per_node[name], hash_)
            if not ok or (new is None) == (old is None):
                unavailable += 1  # the manage loop creates or prunes here
            elif new is not None:
                unavailable += 0 if available(new) else 1
            elif not available(old):
                plan.delete.append(old)  # an unavailable old pod may always be replaced
                unavailable += 1
            elif unavailable < max_unavailable:
                candidates.append(old)
        room = max(0, max_unavailable - unavailable)
        plan.delete.extend(candidates[:room])
        return plan
    surging = available_count = 0
    candidate_nodes: list[str] = []
    sunset: list[Obj] = []  # available old pods on nodes that should no longer run one
    for name in sorted(per_node):
        new, old, ok = updated_pods_on_node(per_node[name], hash_)
        if not ok:
            surging += 1
            continue
        shown = old if old is not None else new
        if shown is not None and available(shown):
            available_count += 1
        if old is None:
            continue
        if new is None:
            if not available(old):
                if should_run(name):
                    plan.create.append(name)
                else:
                    plan.delete.append(old)
            elif not should_run(name):
                sunset.append(old)
            elif surging < max_surge:
                candidate_nodes.append(name)
        elif not available(new):
            surging += 1
        else:
            plan.delete.append(old)
    # with surge the owner expects full availability: a pod on a node leaving the set goes
    # only once more pods are available than desired
    deletable = min(len(sunset), available_count - desired)
    if deletable > 0:
        plan.delete.extend(sunset[:deletable])
    room = min(max(0, max_surge - surging), len(candidate_nodes))
    plan.create.extend(candidate_nodes[:room])
    return plan


# ----------------------------------------------------------------------------- status

@dataclass
class DaemonCounts:
    desired: int = 0
    current: int = 0
    misscheduled: int = 0
    ready: int = 0
    updated: int = 0
    available: int = 0

    @property
    def unavailable(self) -> int:
        return self.desired - self.available

    def status_fields(self) -> dict[str, int]:
        return {"desiredNumberScheduled": self.desired, "currentNumberScheduled": self.current,
                "numberMisscheduled": self.misscheduled, "numberReady": self.ready,
                "updatedNumberScheduled": self.updated, "numberAvailable": self.available,
                "numberUnavailable": self.unavailable}


def count_status(verdicts: Mapping[str, Verdict], nodes_to_pods: Mapping[str, list[Obj]], hash_: str,
                 facts: Callable[[Obj], PodFacts], min_ready: int, now: float) -> DaemonCounts:
    """updateDaemonSetStatus: per existing node, the oldest daemon pod decides readiness,
    availability and up-to-dateness; pods on nodes that should not run one are misscheduled."""
    counts = DaemonCounts()
    for name, verdict in verdicts.items():
        pods = nodes_to_pods.get(name)
        if verdict.should_run:
            counts.desired += 1
            if not pods:
                continue
            counts.current += 1
            pod = min(pods, key=pod_order)
            pod_facts = facts(pod)
            if pod_facts.ready:
                counts.ready += 1
                if pod_facts.available(min_ready, now):
                    counts.available += 1
            if is_updated(pod, hash_):
                counts.updated += 1
        elif pods:
            counts.misscheduled += 1
    return counts


# ----------------------------------------------------------------------------- failed-pod backoff

@dataclass
class FailedPodBackoff:
    """flowcontrol.Backoff as the controller manager configures it for failed daemon pods
    (1 s doubling to 15 min, per DaemonSet generation and node), on cluster seconds."""

    initial: float = 1.0
    cap: float = 900.0
    entries: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (delay, last update)

    def in_backoff(self, key: str, now: float) -> bool:
        entry = self.entries.get(key)
        return entry is not None and now - entry[1] < entry[0]

    def delay(self, key: str) -> float:
        entry = self.entries.get(key)
        return entry[0] if entry else 0.0

    def next(self, key: str, now: float) -> None:
        entry = self.entries.get(key)
        if entry is None or now - entry[1] > 2 * self.cap:
            self.entries[key] = (self.initial, now)
        else:
            self.entries[key] = (min(entry[0] * 2, self.cap), now)

    def gc(self, now: float) -> None:
        for key in [k for k, (_, last) in self.entries.items() if now - last > 2 * self.cap]:
            del self.entries[key]


def backoff_key(ds: Obj, node_name: str) -> str:
    return f"{ds['metadata'].get('uid', '')}/{(ds.get('status') or {}).get('observedGeneration', 0)}/{node_name}"

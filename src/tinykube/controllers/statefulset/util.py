"""Pure StatefulSet arithmetic: ordinals and identities, the pods and claims a set wants, which
pod to create, delete or replace next, and status. Upstream: pkg/controller/statefulset
(stateful_set_utils.go, and the decisions of stateful_set_control.go's updateStatefulSet).

`plan` is the heart: given the set, its pods, its current and update revisions and its claims,
it returns the ordered writes of one sync and the status to report, exactly as upstream walks
them: every replica in ordinal order (recreate failed ones, create missing ones, fix identity
and claims), then the condemned ones (ordinals out of range) from the highest down, then, for
RollingUpdate, the highest pod not at the update revision. Under OrderedReady ("monotonic") the
walk stops at the first write or at the first pod that is not Running, Ready and available for
minReadySeconds; under Parallel it goes on. The controller performs the writes in order and
stops at the first failure.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from tinykube.controllers.podutil import available_in, is_available, is_ready

Obj = dict[str, Any]

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
HASH_LABEL = "controller.kubernetes.io/hash"  # on the set's ControllerRevisions (ControllerRevisionHashLabel)
MAX_ORDINAL = 2**31 - 1  # ordinals parse as int32
RETAIN, DELETE = "Retain", "Delete"
_POD_NAME = re.compile(r"^(.*)-([0-9]+)$")


# ----------------------------------------------------------------------------- names and ordinals

def parent_and_ordinal(name: str) -> tuple[str, int]:
    """("web", 2) for "web-2"; ("", -1) for a name no StatefulSet gives."""
    match = _POD_NAME.match(name)
    if match is None:
        return "", -1
    ordinal = int(match.group(2))
    return match.group(1), ordinal if ordinal <= MAX_ORDINAL else -1


def ordinal_of(pod: Obj) -> int:
    return parent_and_ordinal(pod["metadata"]["name"])[1]


def is_member(sts: Obj, pod: Obj) -> bool:
    return parent_and_ordinal(pod["metadata"]["name"])[0] == sts["metadata"]["name"]


def pod_name(sts: Obj, ordinal: int) -> str:
    return f"{sts['metadata']['name']}-{ordinal}"


def claim_name(template_name: str, sts: Obj, ordinal: int) -> str:
    return f"{template_name}-{sts['metadata']['name']}-{ordinal}"


def spec_of(sts: Obj) -> Obj:
    return sts.get("spec") or {}


def replicas_of(sts: Obj) -> int:
    return int(spec_of(sts).get("replicas", 1) or 0)


def start_ordinal(sts: Obj) -> int:
    return int((spec_of(sts).get("ordinals") or {}).get("start") or 0)


def in_range(ordinal: int, sts: Obj) -> bool:
    start = start_ordinal(sts)
    return start <= ordinal < start + replicas_of(sts)


def min_ready_seconds(sts: Obj) -> int:
    return int(spec_of(sts).get("minReadySeconds") or 0)


def is_parallel(sts: Obj) -> bool:
    return spec_of(sts).get("podManagementPolicy") == "Parallel"


def strategy(sts: Obj) -> tuple[str, int | None]:
    """(update strategy type, partition or None when rollingUpdate is absent)."""
    update = spec_of(sts).get("updateStrategy") or {}
    rolling = update.get("rollingUpdate")
    partition = int(rolling.get("partition") or 0) if isinstance(rolling, dict) else None
    return update.get("type") or "RollingUpdate", partition


# ----------------------------------------------------------------------------- pod states

def phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def is_created(pod: Obj) -> bool:
    return phase(pod) != ""


def is_terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def is_running_ready(pod: Obj) -> bool:
    return phase(pod) == "Running" and is_ready(pod)


def is_running_available(pod: Obj, min_ready: int, now: float) -> bool:
    return phase(pod) == "Running" and is_available(pod, min_ready, now)


def is_healthy(pod: Obj) -> bool:
    return is_running_ready(pod) and not is_terminating(pod)


def revision_of(pod: Obj) -> str:
    return (pod["metadata"].get("labels") or {}).get(REVISION_LABEL, "")


# ----------------------------------------------------------------------------- the pods a set wants

def claims_for(sts: Obj, ordinal: int) -> dict[str, Obj]:
    """The claims of one ordinal by template name: `<template>-<set>-<ordinal>`, labelled with
    the selector's matchLabels on top of the template's own labels."""
    out = {}
    selector_labels = (spec_of(sts).get("selector") or {}).get("matchLabels") or {}
    for template in spec_of(sts).get("volumeClaimTemplates") or []:
        meta = copy.deepcopy(template.get("metadata") or {})
        name = meta.get("name", "")
        meta.update(name=claim_name(name, sts, ordinal), namespace=sts["metadata"]["namespace"],
                    labels={**(meta.get("labels") or {}), **selector_labels})
        out[name] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
                     "spec": copy.deepcopy(template.get("spec") or {})}
    return out


def with_claim_volumes(volumes: list[Obj], claims: Mapping[str, Obj]) -> list[Obj]:
    """The pod's volumes with one persistentVolumeClaim volume per claim template, replacing any
    template volume of the same name (upstream updateStorage)."""
    out = [{"name": name, "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]}}
           for name, claim in claims.items()]
    return out + [v for v in volumes if v.get("name") not in claims]


def new_pod(sts: Obj, template: Obj, revision: str, ordinal: int) -> Obj:
    """The pod of `ordinal` from `template` (the template of `revision`), with its stable
    identity: name, hostname and subdomain, pod-name and pod-index labels, claim volumes."""
    name = pod_name(sts, ordinal)
    meta_t = template.get("metadata") or {}
    labels = {**(meta_t.get("labels") or {}), POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal),
              REVISION_LABEL: revision}
    meta: Obj = {"name": name, "namespace": sts["metadata"]["namespace"], "labels": labels,
                 "ownerReferences": [_controller_ref(sts)]}
    for key in ("annotations", "finalizers"):
        if meta_t.get(key):
            meta[key] = copy.deepcopy(meta_t[key])
    spec = copy.deepcopy(template.get("spec") or {})
    spec["hostname"] = name
    spec["subdomain"] = spec_of(sts).get("serviceName") or ""
    if not spec["subdomain"]:
        spec.pop("subdomain")
    volumes = with_claim_volumes(spec.get("volumes") or [], claims_for(sts, ordinal))
    if volumes:
        spec["volumes"] = volumes
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def _controller_ref(owner: Obj, kind: str = "StatefulSet") -> Obj:
    meta = owner["metadata"]
    return {"apiVersion": "apps/v1" if kind == "StatefulSet" else "v1", "kind": kind, "name": meta["name"],
            "uid": meta.get("uid", ""), "controller": True, "blockOwnerDeletion": True}


def gets_current_revision(sts: Obj, ordinal: int) -> bool:
    """Whether a missing pod is recreated at the current revision rather than the update one:
    below the partition (upstream newVersionedStatefulSetPod, whose `&&`/`||` precedence makes
    the partition rule apply whenever rollingUpdate is set)."""
    kind, partition = strategy(sts)
    start = start_ordinal(sts)
    if kind == "RollingUpdate" and partition is None:
        current = int((sts.get("status") or {}).get("currentReplicas") or 0)
        return ordinal < start + current
    return partition is not None and ordinal < start + partition


def identity_labels(sts: Obj, pod: Obj) -> dict[str, str]:
    """The identity labels the pod lacks (empty when its identity matches)."""
    ordinal = ordinal_of(pod)
    labels = pod["metadata"].get("labels") or {}
    wanted = {POD_NAME_LABEL: pod["metadata"]["name"], POD_INDEX_LABEL: str(ordinal)}
    return {k: v for k, v in wanted.items() if labels.get(k) != v}


# ----------------------------------------------------------------------------- claim retention

def retention(sts: Obj) -> tuple[str, str]:
    """(whenDeleted, whenScaled); anything unknown counts as Retain."""
    policy = spec_of(sts).get("persistentVolumeClaimRetentionPolicy") or {}
    def value(name: str) -> str:
        return DELETE if policy.get(name) == DELETE else RETAIN
    return value("whenDeleted"), value("whenScaled")


def _matches_ref(ref: Obj, owner: Obj, kind: str) -> bool:
    return ref.get("name") == owner["metadata"].get("name") and ref.get("kind") == kind and \
        ref.get("apiVersion") == ("apps/v1" if kind == "StatefulSet" else "v1")


def _has_ref(claim: Obj, owner: Obj) -> bool:
    uid = owner["metadata"].get("uid")
    return bool(uid) and any(r.get("uid") == uid for r in claim["metadata"].get("ownerReferences") or [])


def has_stale_ref(claim: Obj, owner: Obj, kind: str) -> bool:
    """A reference to an earlier object of the same name (e.g. a deleted pod)."""
    for ref in claim["metadata"].get("ownerReferences") or []:
        if _matches_ref(ref, owner, kind):
            return ref.get("uid") != owner["metadata"].get("uid")
    return False


def _ours(ref: Obj, sts: Obj, pod: Obj) -> bool:
    return _matches_ref(ref, sts, "StatefulSet") or _matches_ref(ref, pod, "Pod")


def _unexpected_controller(claim: Obj, sts: Obj, pod: Obj) -> bool:
    return any(r.get("controller") and not _ours(r, sts, pod) for r in claim["metadata"].get("ownerReferences") or [])


def _foreign_owner(claim: Obj, sts: Obj, pod: Obj) -> bool:
    return any(not r.get("controller") and not _ours(r, sts, pod)
               for r in claim["metadata"].get("ownerReferences") or [])


def wanted_owners(sts: Obj, pod: Obj) -> tuple[bool, bool]:
    """(owned by the set, owned by the pod) as the retention policy wants for this pod's claims:
    whenDeleted=Delete → the set owns claims of in-range pods; whenScaled=Delete → a condemned
    pod owns its claims (so they go with it)."""
    when_deleted, when_scaled = retention(sts)
    scaled_down = not in_range(ordinal_of(pod), sts)
    if when_scaled == DELETE:
        return when_deleted == DELETE and not scaled_down, scaled_down
    return when_deleted == DELETE, False


def claim_owners_up_to_date(claim: Obj, sts: Obj, pod: Obj) -> bool:
    """upstream isClaimOwnerUpToDate: claims with stale or foreign controllers are left alone."""
    if has_stale_ref(claim, sts, "StatefulSet") or has_stale_ref(claim, pod, "Pod"):
        return True
    if _unexpected_controller(claim, sts, pod):
        return not (_has_ref(claim, sts) or _has_ref(claim, pod))
    if _foreign_owner(claim, sts, pod):
        return not _has_ref(claim, sts) and not _has_ref(claim, pod)
    by_set, by_pod = wanted_owners(sts, pod)
    return _has_ref(claim, sts) == by_set and _has_ref(claim, pod) == by_pod


def claim_owner_refs(claim: Obj, sts: Obj, pod: Obj) -> list[Obj]:
    """The claim's ownerReferences as the policy wants them (upstream updateClaimOwnerRefForSetAndPod)."""
    refs = [r for r in claim["metadata"].get("ownerReferences") or [] if not _ours(r, sts, pod)]
    if _unexpected_controller(claim, sts, pod):
        return refs
    by_set, by_pod = wanted_owners(sts, pod)
    if by_set:
        refs.append(_controller_ref(sts))
    if by_pod and pod["metadata"].get("uid"):
        refs.append(_controller_ref(pod, "Pod"))
    return refs


def claim_is_stale(sts: Obj, pod: Obj, claims: Mapping[str, Obj]) -> bool:
    """whenScaled=Delete: a claim still owned by an earlier pod of this name blocks the new pod
    until the garbage collector has deleted it."""
    if retention(sts)[1] == RETAIN:
        return False
    for claim in claims_for(sts, ordinal_of(pod)).values():
        existing = claims.get(claim["metadata"]["name"])
        if existing is not None and has_stale_ref(existing, pod, "Pod"):
            return True
    return False


def claims_needing_owners(sts: Obj, pod: Obj, claims: Mapping[str, Obj]) -> list[Obj]:
    out = []
    for claim in claims_for(sts, ordinal_of(pod)).values():
        existing = claims.get(claim["metadata"]["name"])
        if existing is not None and not claim_owners_up_to_date(existing, sts, pod):
            out.append(existing)
    return out


# ----------------------------------------------------------------------------- one sync's plan

@dataclass(frozen=True)
class Revision:
    """A revision as the plan needs it: its name and the template it restores."""

    name: str
    template: Obj


@dataclass
class Action:
    """One write: create (claims, then the pod), delete, claims (create missing ones for a
    pending pod), identity (label a pod), owners (fix claim ownerReferences of a pod)."""

    kind: str
    pod: Obj
    reason: str = ""


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    status: Obj = field(default_factory=dict)
    recheck_in: float | None = None  # seconds until a ready pod becomes available


def split_pods(sts: Obj, pods: list[Obj], current: Revision, update: Revision) -> tuple[list[Obj], list[Obj]]:
    """(one pod per wanted ordinal, placeholders with no status for missing ones; the condemned
    pods, highest ordinal first). Pods whose names carry no ordinal are ignored."""
    start, count = start_ordinal(sts), replicas_of(sts)
    replicas: list[Obj | None] = [None] * count
    condemned = []
    for pod in pods:
        ordinal = ordinal_of(pod)
        if in_range(ordinal, sts):
            replicas[ordinal - start] = pod
        elif ordinal >= 0:
            condemned.append(pod)
    filled = [pod if pod is not None else placeholder(sts, start + i, current, update)
              for i, pod in enumerate(replicas)]
    condemned.sort(key=ordinal_of, reverse=True)
    return filled, condemned


def placeholder(sts: Obj, ordinal: int, current: Revision, update: Revision) -> Obj:
    revision = current if gets_current_revision(sts, ordinal) else update
    return new_pod(sts, revision.template, revision.name, ordinal)


def first_unhealthy(replicas: list[Obj], condemned: list[Obj]) -> Obj | None:
    """The lowest unhealthy replica, else the lowest unhealthy condemned pod."""
    for pod in replicas:
        if not is_healthy(pod):
            return pod
    for pod in reversed(condemned):
        if not is_healthy(pod):
            return pod
    return None


def plan(sts: Obj, pods: list[Obj], current: Revision, update: Revision, claims: Mapping[str, Obj],
         now: float, collision_count: int = 0) -> Plan:
    """The writes of one sync, and the status to report (see the module docstring)."""
    replicas, condemned = split_pods(sts, pods, current, update)
    out = Plan()
    counted = list(replicas)
    if not sts["metadata"].get("deletionTimestamp"):
        _walk(sts, replicas, condemned, counted, update, claims, now, out)
    out.status = compute_status(sts, counted + condemned, current, update, now, collision_count)
    if any(a.kind == "delete" and a.reason == "update" for a in out.actions):
        out.status["currentReplicas"] = max(0, out.status["currentReplicas"] - 1)
    complete_rolling_update(sts, out.status)
    out.recheck_in = _next_available(counted + condemned, min_ready_seconds(sts), now)
    return out


def _walk(sts: Obj, replicas: list[Obj], condemned: list[Obj], counted: list[Obj], update: Revision,
          claims: Mapping[str, Obj], now: float, out: Plan) -> None:
    monotonic = not is_parallel(sts)
    min_ready = min_ready_seconds(sts)
    unhealthy = first_unhealthy(replicas, condemned)
    for i, pod in enumerate(replicas):
        stop = _replica(sts, pod, claims, monotonic, min_ready, now, out)
        if out.actions and out.actions[-1].pod is pod and out.actions[-1].kind == "delete":
            counted[i] = {"metadata": pod["metadata"]}  # a finished pod being replaced: not counted
        if stop:
            return
    for pod in condemned:
        if claims_needing_owners(sts, pod, claims):
            out.actions.append(Action("owners", pod))
    for pod in condemned:
        if is_terminating(pod):
            if monotonic:
                return
            continue
        if monotonic and pod is not unhealthy and not is_running_available(pod, min_ready, now):
            return
        out.actions.append(Action("delete", pod, "condemned"))
        if monotonic:
            return
    kind, partition = strategy(sts)
    if kind != "RollingUpdate":
        return  # OnDelete: pods are replaced only when someone deletes them
    for target in range(len(replicas) - 1, (partition or 0) - 1, -1):
        pod = replicas[target]
        if revision_of(pod) != update.name and not is_terminating(pod):
            if is_created(pod):
                out.actions.append(Action("delete", pod, "update"))
            return
        if not is_healthy(pod):
            return


def _replica(sts: Obj, pod: Obj, claims: Mapping[str, Obj], monotonic: bool, min_ready: int, now: float,
             out: Plan) -> bool:
    """upstream processReplica; True when the walk must stop here."""
    if phase(pod) in ("Failed", "Succeeded"):
        out.actions.append(Action("delete", pod, phase(pod)))
        return monotonic
    if not is_created(pod):
        if claim_is_stale(sts, pod, claims):
            return True
        out.actions.append(Action("create", pod))
        return monotonic
    if phase(pod) == "Pending" and any(c["metadata"]["name"] not in claims
                                       for c in claims_for(sts, ordinal_of(pod)).values()):
        out.actions.append(Action("claims", pod))
    if monotonic and (is_terminating(pod) or not is_running_ready(pod) or
                      not is_running_available(pod, min_ready, now)):
        return True
    if identity_labels(sts, pod):
        out.actions.append(Action("identity", pod))
    if claims_needing_owners(sts, pod, claims):
        out.actions.append(Action("owners", pod))
    return False


def _next_available(pods: list[Obj], min_ready: int, now: float) -> float | None:
    waits = [w for p in pods if (w := available_in(p, min_ready, now)) is not None]
    return min(waits) if waits else None


# ----------------------------------------------------------------------------- status

def compute_status(sts: Obj, pods: list[Obj], current: Revision, update: Revision, now: float,
                   collision_count: int) -> Obj:
    """upstream computeReplicaStatus over the replicas and condemned pods."""
    min_ready = min_ready_seconds(sts)
    counts = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 0,
              "updatedReplicas": 0}
    for pod in pods:
        if is_created(pod):
            counts["replicas"] += 1
        if is_running_ready(pod):
            counts["readyReplicas"] += 1
            if is_running_available(pod, min_ready, now):
                counts["availableReplicas"] += 1
        if is_created(pod) and not is_terminating(pod):
            revision = revision_of(pod)
            if revision == current.name:
                counts["currentReplicas"] += 1
            if revision == update.name:
                counts["updatedReplicas"] += 1
    return {**counts, "observedGeneration": sts["metadata"].get("generation", 1),
            "currentRevision": current.name, "updateRevision": update.name, "collisionCount": collision_count}


def complete_rolling_update(sts: Obj, status: Obj) -> None:
    """Once every pod runs the update revision and is ready, it becomes the current one."""
    if strategy(sts)[0] == "RollingUpdate" and status["updatedReplicas"] == status["replicas"] and \
            status["readyReplicas"] == status["replicas"]:
        status["currentReplicas"] = status["updatedReplicas"]
        status["currentRevision"] = status["updateRevision"]


def wire_status(status: Obj, old: Obj) -> Obj:
    """The status as the API returns it: zero counts omitted where upstream omits them, other
    fields of the old status (conditions) kept."""
    out = {k: v for k, v in (old or {}).items() if k not in status}
    for key, value in status.items():
        if value or key in ("replicas", "availableReplicas", "collisionCount"):
            out[key] = value
    return out

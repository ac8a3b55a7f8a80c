"""Pure rules of the persistent-volume controller: which volume a claim gets, what the binding
writes, and the annotations and phases they use (component-helpers storage/volume semantics).

Table-tested in tests/unit/test_volume_util.py; the controllers only read caches and write.
"""

from __future__ import annotations

import copy
from fractions import Fraction
from typing import Any, Iterable

from tinykube.machinery.nodeselection import node_selector_terms_match
from tinykube.machinery.quantity import parse_quantity
from tinykube.machinery.selectors import SelectorError, label_selector_from_object

Obj = dict[str, Any]

# annotations upstream's binder, scheduler and provisioners write
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"

# user-visible texts
WAITING_FOR_CONSUMER = "waiting for first consumer to be created before binding"
NO_VOLUMES_NO_CLASS = "no persistent volumes available for this claim and no storage class is set"
CLAIM_LOST = "Bound claim has lost its PersistentVolume. Data on the volume is lost!"


def external_provisioning_message(provisioner: str) -> str:
    return (f"Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually "
            "by the system administrator. If volume creation is delayed, please verify that the provisioner is "
            "running and correctly registered.")


def no_deleter_message(volume_name: str) -> str:
    return f'error getting deleter volume plugin for volume "{volume_name}": no deletable volume plugin matched'


# ----------------------------------------------------------------------------- reading objects

def annotations(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def phase(obj: Obj) -> str:
    return (obj.get("status") or {}).get("phase") or ""


def claim_class(claim: Obj) -> str:
    """GetPersistentVolumeClaimClass: the beta annotation wins over spec.storageClassName."""
    ann = annotations(claim)
    if BETA_STORAGE_CLASS in ann:
        return ann[BETA_STORAGE_CLASS]
    return spec(claim).get("storageClassName") or ""


def volume_class(volume: Obj) -> str:
    ann = annotations(volume)
    if BETA_STORAGE_CLASS in ann:
        return ann[BETA_STORAGE_CLASS]
    return spec(volume).get("storageClassName") or ""


def storage_of(resources: Obj | None) -> Fraction:
    """The `storage` amount of a resource list (0 when absent or unparsable)."""
    value = (resources or {}).get("storage")
    if value is None:
        return Fraction(0)
    try:
        return parse_quantity(str(value)).value
    except ValueError:
        return Fraction(0)


def requested_storage(claim: Obj) -> Fraction:
    return storage_of((spec(claim).get("resources") or {}).get("requests"))


def volume_capacity(volume: Obj) -> Fraction:
    return storage_of(spec(volume).get("capacity"))


def is_default_class(sc: Obj) -> bool:
    ann = annotations(sc)
    return ann.get(DEFAULT_CLASS_ANNOTATION) == "true" or ann.get(BETA_DEFAULT_CLASS_ANNOTATION) == "true"


def default_class(classes: Iterable[Obj]) -> Obj | None:
    """GetDefaultClass: of several default classes the newest (then the name) wins."""
    defaults = [sc for sc in classes if is_default_class(sc)]
    if not defaults:
        return None
    return max(defaults, key=lambda sc: (sc["metadata"].get("creationTimestamp") or "", sc["metadata"]["name"]))


def delays_binding(sc: Obj | None) -> bool:
    return bool(sc) and (sc or {}).get("volumeBindingMode") == WAIT_FOR_FIRST_CONSUMER


def claim_key(claim: Obj) -> str:
    meta = claim["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def claim_ref_key(volume: Obj) -> str | None:
    ref = spec(volume).get("claimRef")
    if not ref:
        return None
    return f"{ref.get('namespace', '')}/{ref.get('name', '')}"


def is_bound_to_claim(volume: Obj, claim: Obj) -> bool:
    """IsVolumeBoundToClaim: claimRef names the claim, and its uid (if any) is the claim's."""
    ref = spec(volume).get("claimRef")
    if not ref:
        return False
    meta = claim["metadata"]
    if ref.get("name") != meta["name"] or (ref.get("namespace") or "") != meta.get("namespace", ""):
        return False
    return not ref.get("uid") or ref.get("uid") == meta.get("uid")


# ----------------------------------------------------------------------------- matching

def access_modes_contain(volume_modes: Iterable[str], claim_modes: Iterable[str]) -> bool:
    """Every mode the claim asks for is one the volume offers."""
    offered = set(volume_modes or ())
    return all(mode in offered for mode in claim_modes or ())


def node_affinity_matches(volume: Obj, node: Obj) -> bool:
    """CheckNodeAffinity: a volume without required node affinity fits every node."""
    required = ((spec(volume).get("nodeAffinity") or {}).get("required") or {})
    terms = required.get("nodeSelectorTerms")
    if not terms:
        return True
    return node_selector_terms_match(terms, node)


def _volume_mode(obj: Obj) -> str:
    return spec(obj).get("volumeMode") or "Filesystem"


def _selector_matches(claim: Obj, volume: Obj) -> bool:
    selector = spec(claim).get("selector")
    if selector is None:
        return True
    try:
        return label_selector_from_object(selector).matches((volume.get("metadata") or {}).get("labels") or {})
    except SelectorError:
        return False


def find_matching_volume(claim: Obj, volumes: Iterable[Obj], node: Obj | None = None,
                         delay_binding: bool = False, excluded: frozenset[str] = frozenset()) -> Obj | None:
    """FindMatchingVolume: the volume pre-bound to this claim, else the smallest Available one of
    the claim's class whose capacity, access modes, volume mode, selector and (given a node) node
    affinity fit. Without a node a delayed-binding claim only gets a pre-bound volume: the
    scheduler chooses for it."""
    requested = requested_storage(claim)
    wanted_class = claim_class(claim)
    claim_modes = spec(claim).get("accessModes") or []
    best: Obj | None = None
    best_size = Fraction(0)
    for volume in volumes:
        if volume["metadata"]["name"] in excluded or volume["metadata"].get("deletionTimestamp"):
            continue
        if spec(volume).get("volumeAttributesClassName") != spec(claim).get("volumeAttributesClassName"):
            continue
        size = volume_capacity(volume)
        if size < requested or _volume_mode(volume) != _volume_mode(claim):
            continue
        if not access_modes_contain(spec(volume).get("accessModes") or [], claim_modes):
            continue
        affinity_ok = node is None or node_affinity_matches(volume, node)
        if is_bound_to_claim(volume, claim):
            return volume if affinity_ok else None
        if node is None and delay_binding:
            continue
        if phase(volume) != "Available" or spec(volume).get("claimRef"):
            continue
        if not _selector_matches(claim, volume) or volume_class(volume) != wanted_class or not affinity_ok:
            continue
        if best is None or size < best_size:
            best, best_size = volume, size
    return best


def claim_fits_volume(claim: Obj, volume: Obj) -> str:
    """checkVolumeSatisfyClaim: why a volume the claim names cannot serve it ("" when it can)."""
    if volume_capacity(volume) < requested_storage(claim):
        return "requested PV is too small"
    if volume_class(volume) != claim_class(claim):
        return "storageClassName does not match"
    if _volume_mode(volume) != _volume_mode(claim):
        return "incompatible volumeMode"
    if not access_modes_contain(spec(volume).get("accessModes") or [], spec(claim).get("accessModes") or []):
        return "incompatible accessMode"
    return ""


# ----------------------------------------------------------------------------- binding writes

def claim_reference(claim: Obj) -> Obj:
    meta = claim["metadata"]
    return {"kind": "PersistentVolumeClaim", "namespace": meta.get("namespace", ""), "name": meta["name"],
            "uid": meta.get("uid", ""), "apiVersion": "v1", "resourceVersion": meta.get("resourceVersion", "")}


def bound_volume(volume: Obj, claim: Obj) -> Obj | None:
    """bindVolumeToClaim: the volume with claimRef set to the claim (None: already so)."""
    ref = spec(volume).get("claimRef") or {}
    meta = claim["metadata"]
    if ref.get("uid") == meta.get("uid") and ref.get("name") == meta["name"] and \
            ref.get("namespace") == meta.get("namespace"):
        return None
    out = copy.deepcopy(volume)
    out["spec"]["claimRef"] = claim_reference(claim)
    if not ref.get("uid"):
        out["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
    return out


def bound_claim(claim: Obj, volume: Obj) -> Obj | None:
    """bindClaimToVolume: spec.volumeName and the bind-completed (and, when the controller chose,
    bound-by-controller) annotations (None: already so)."""
    name = volume["metadata"]["name"]
    ann = annotations(claim)
    chosen = spec(claim).get("volumeName") != name
    if not chosen and ann.get(BIND_COMPLETED) == "yes":
        return None
    out = copy.deepcopy(claim)
    out["spec"]["volumeName"] = name
    out_ann = out["metadata"].setdefault("annotations", {})
    out_ann[BIND_COMPLETED] = "yes"
    if chosen:
        out_ann[BOUND_BY_CONTROLLER] = "yes"
    return out


def claim_status(claim: Obj, new_phase: str, volume: Obj | None, now: str) -> Obj | None:
    """The claim's status in `new_phase`: a bound claim reports the volume's access modes and
    capacity (None: nothing to write)."""
    status = dict(claim.get("status") or {})
    old = dict(status)
    status["phase"] = new_phase
    if volume is not None:
        status["accessModes"] = list(spec(volume).get("accessModes") or [])
        status["capacity"] = dict(spec(volume).get("capacity") or {})
    if status == old:
        return None
    return dict(claim, status=status)


def volume_status(volume: Obj, new_phase: str, now: str, message: str = "") -> Obj | None:
    """The volume in `new_phase` (lastPhaseTransitionTime when the phase changes; None: as is)."""
    status = dict(volume.get("status") or {})
    if status.get("phase") == new_phase and (status.get("message") or "") == message:
        return None
    if status.get("phase") != new_phase:
        status["lastPhaseTransitionTime"] = now
    status["phase"] = new_phase
    if message:
        status["message"] = message
    else:
        status.pop("message", None)
    return dict(volume, status=status)


def unbound_volume(volume: Obj) -> Obj:
    """unbindVolume: a controller-made binding is undone; a user's pre-binding keeps its name."""
    out = copy.deepcopy(volume)
    ann = out["metadata"].get("annotations") or {}
    if ann.get(BOUND_BY_CONTROLLER):
        out["spec"].pop("claimRef", None)
        ann.pop(BOUND_BY_CONTROLLER, None)
    else:
        out["spec"]["claimRef"] = {k: v for k, v in out["spec"]["claimRef"].items() if k not in ("uid", "resourceVersion")}
    return out


# ----------------------------------------------------------------------------- pods

def pod_claim_names(pod: Obj) -> list[str]:
    """The claims a pod's volumes name (ephemeral volumes' claims are `<pod>-<volume>`)."""
    names = []
    pod_name = pod["metadata"]["name"]
    for volume in spec(pod).get("volumes") or []:
        source = volume.get("persistentVolumeClaim")
        if source and source.get("claimName"):
            names.append(source["claimName"])
        elif volume.get("ephemeral"):
            names.append(f"{pod_name}-{volume.get('name', '')}")
    return names


def pod_uses_claim(pod: Obj, claim_name: str) -> bool:
    """pvc-protection's podUsesPVC: a scheduled pod that has not finished and names the claim."""
    if not spec(pod).get("nodeName") or phase(pod) in ("Succeeded", "Failed"):
        return False
    return claim_name in pod_claim_names(pod)

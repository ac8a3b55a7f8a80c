"""The table of resources the API server serves: names, scope, short names, verbs.

Everything that needs to know "what is a deployment" (discovery, routing, storage keys,
OpenAPI, tables) reads it from here, so adding a kind is one entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Subresource:
    name: str
    kind: str
    group: str = ""
    version: str = "v1"
    verbs: tuple[str, ...] = ("get", "patch", "update")


@dataclass(frozen=True)
class Resource:
    """One REST resource in one group-version."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()
    # The group-version whose objects are kept in storage; other versions convert.
    storage_version: str = ""
    # False for resources computed on request (metrics.k8s.io), never kept in the store.
    stored: bool = True

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """`deployments.apps`, or `pods` for the core group, as in upstream messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """`Deployment.apps`, or `Pod`: the kind as upstream's Invalid messages name it."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None

    @property
    def has_status(self) -> bool:
        return self.subresource("status") is not None


def _status(kind: str, group: str = "", version: str = "v1") -> Subresource:
    return Subresource("status", kind, group, version)


SCALE = Subresource("scale", "Scale", "autoscaling", "v1")

RESOURCES: tuple[Resource, ...] = (
    # core/v1
    Resource("", "v1", "namespaces", "Namespace", False, ("ns",),
             verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
             subresources=(_status("Namespace"), Subresource("finalize", "Namespace", verbs=("update",)))),
    Resource("", "v1", "pods", "Pod", True, ("po",), ("all",),
             subresources=(_status("Pod"), Subresource("binding", "Binding", verbs=("create",)),
                           Subresource("eviction", "Eviction", "policy", "v1", ("create",)),
                           Subresource("log", "Pod", verbs=("get",)),
                           Subresource("exec", "PodExecOptions", verbs=("create", "get")),
                           Subresource("attach", "PodAttachOptions", verbs=("create", "get")),
                           Subresource("portforward", "PodPortForwardOptions", verbs=("create", "get")))),
    Resource("", "v1", "nodes", "Node", False, ("no",), subresources=(_status("Node"),)),
    Resource("", "v1", "services", "Service", True, ("svc",), ("all",),
             verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
             subresources=(_status("Service"),)),
    Resource("", "v1", "endpoints", "Endpoints", True, ("ep",)),
    Resource("", "v1", "events", "Event", True, ("ev",)),
    Resource("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    Resource("", "v1", "secrets", "Secret", True),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",),
             subresources=(Subresource("token", "TokenRequest", "authentication.k8s.io", "v1", ("create",)),)),
    Resource("", "v1", "persistentvolumes", "PersistentVolume", False, ("pv",),
             subresources=(_status("PersistentVolume"),)),
    Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",),
             subresources=(_status("PersistentVolumeClaim"),)),
    Resource("", "v1", "replicationcontrollers", "ReplicationController", True, ("rc",), ("all",),
             subresources=(_status("ReplicationController"), SCALE)),
    Resource("", "v1", "limitranges", "LimitRange", True, ("limits",)),
    Resource("", "v1", "resourcequotas", "ResourceQuota", True, ("quota",),
             subresources=(_status("ResourceQuota"),)),
    # apps/v1
    Resource("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("all",),
             subresources=(_status("Deployment", "apps"), SCALE)),
    Resource("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("all",),
             subresources=(_status("ReplicaSet", "apps"), SCALE)),
    Resource("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), ("all",),
             subresources=(_status("StatefulSet", "apps"), SCALE)),
    Resource("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), ("all",),
             subresources=(_status("DaemonSet", "apps"),)),
    Resource("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    # batch/v1
    Resource("batch", "v1", "jobs", "Job", True, (), ("all",), subresources=(_status("Job", "batch"),)),
    Resource("batch", "v1", "cronjobs", "CronJob", True, ("cj",), ("all",),
             subresources=(_status("CronJob", "batch"),)),
    # autoscaling
    Resource("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ("hpa",),
             ("all",), subresources=(_status("HorizontalPodAutoscaler", "autoscaling", "v2"),)),
    Resource("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ("hpa",),
             ("all",), subresources=(_status("HorizontalPodAutoscaler", "autoscaling"),),
             storage_version="v2"),
    # coordination.k8s.io/v1
    Resource("coordination.k8s.io", "v1", "leases", "Lease", True),
    # events.k8s.io/v1 (the same objects as core/v1 events, another shape)
    Resource("events.k8s.io", "v1", "events", "Event", True, ("ev",)),
    # storage.k8s.io/v1
    Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ("sc",)),
    # discovery.k8s.io/v1: EndpointSlices, kept by the EndpointSlice controller (controllers/endpoints/)
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    # metrics.k8s.io/v1beta1: resource usage as metrics-server serves it (kubectl top, the HPA)
    Resource("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, verbs=("get", "list"), stored=False),
    Resource("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, verbs=("get", "list"), stored=False),
    # --- auth (issue 9): RBAC objects, and the review APIs answered on request, never stored
    Resource("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    Resource("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, verbs=("create",), stored=False),
    Resource("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False, verbs=("create",),
             stored=False),
    Resource("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False,
             verbs=("create",), stored=False),
    Resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
             verbs=("create",), stored=False),
    Resource("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview", True,
             verbs=("create",), stored=False),
    Resource("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False,
             verbs=("create",), stored=False),
    # --- end auth
)

# Order in which groups appear in discovery (upstream lists core first, then by priority).
GROUP_ORDER = ("", "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io", "autoscaling",
               "batch", "rbac.authorization.k8s.io", "storage.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
               "metrics.k8s.io")
PREFERRED_VERSION = {"": "v1", "apps": "v1", "batch": "v1", "autoscaling": "v2",
                     "coordination.k8s.io": "v1", "events.k8s.io": "v1", "metrics.k8s.io": "v1beta1",
                     "rbac.authorization.k8s.io": "v1", "authentication.k8s.io": "v1", "authorization.k8s.io": "v1",
                     "storage.k8s.io": "v1", "discovery.k8s.io": "v1"}


@dataclass
class ResourceIndex:
    """Lookups over RESOURCES by (group, version, plural) and by kind."""

    resources: tuple[Resource, ...] = RESOURCES
    _by_path: dict[tuple[str, str, str], Resource] = field(default_factory=dict)
    _served: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        for res in self.resources:
            self._by_path[(res.group, res.version, res.plural)] = res
            self._served.add((res.group, res.version))

    def lookup(self, group: str, version: str, plural: str) -> Resource | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> Resource | None:
        for res in self.resources:
            if res.group == group and res.version == version and res.kind == kind:
                return res
        return None

    def group_versions(self) -> list[tuple[str, list[str]]]:
        """Groups in discovery order, each with its versions, preferred first."""
        out: list[tuple[str, list[str]]] = []
        for group in GROUP_ORDER:
            versions = sorted({r.version for r in self.resources if r.group == group},
                              key=lambda v: (v != PREFERRED_VERSION[group], v))
            out.append((group, versions))
        return out

    def in_group_version(self, group: str, version: str) -> list[Resource]:
        return [r for r in self.resources if r.group == group and r.version == version]

    def serves(self, group: str, version: str) -> bool:
        """Whether group/version has any resource (asked on every request: a set lookup)."""
        return (group, version) in self._served


RESOURCE_INDEX = ResourceIndex()


def storage_prefix(res: Resource) -> str:
    """Key prefix under which objects of this resource live, shared by all its versions.

    core/v1 events and events.k8s.io/v1 events are one resource upstream; so are the
    autoscaling versions of HPAs. They share a prefix here too.
    """
    base = res.plural if res.group in ("", "events.k8s.io") else f"{res.plural}.{res.group}"
    return f"/registry/{base}/"


def object_key(res: Resource, namespace: str, name: str) -> str:
    if res.namespaced:
        return f"{storage_prefix(res)}{namespace}/{name}"
    return f"{storage_prefix(res)}{name}"

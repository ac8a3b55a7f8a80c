"""metrics.k8s.io/v1beta1 objects (PodMetrics, NodeMetrics) from the cluster's caches.

Upstream this API is metrics-server, aggregated behind the API server; here the server answers
it itself from the pod and node informers the components share, so `kubectl top` and the HPA
work without another process. Objects are built on each request and never stored.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from tinykube.machinery.selectors import LabelSelector
from tinykube.metrics.usage import Obj, Usage, UsageSource, node_usage, simulated_usage

API_VERSION = "metrics.k8s.io/v1beta1"
WINDOW = "10s"  # the interval a usage figure covers (metrics-server's default resolution)


class ObjectCache(Protocol):
    def get(self, key: str) -> Obj | None: ...

    def list(self) -> list[Obj]: ...

    def by_index(self, index: str, value: str) -> list[Obj]: ...


class ClusterMetrics:
    """Answers PodMetrics/NodeMetrics questions from informer caches: `pods` indexed by
    "namespace" and "node", `nodes`."""

    def __init__(self, pods: ObjectCache, nodes: ObjectCache, now: Callable[[], str],
                 source: UsageSource = simulated_usage) -> None:
        self._pods = pods
        self._nodes = nodes
        self._now = now
        self.source = source

    def pod_metrics(self, pod: Obj) -> Obj | None:
        usage = self.source(pod)
        if usage is None:
            return None
        meta = pod["metadata"]
        now = self._now()
        return {"kind": "PodMetrics", "apiVersion": API_VERSION,
                "metadata": {"name": meta["name"], "namespace": meta.get("namespace", ""), "creationTimestamp": now,
                             **({"labels": dict(meta["labels"])} if meta.get("labels") else {})},
                "timestamp": now, "window": WINDOW,
                "containers": [{"name": name, "usage": u.as_quantities()} for name, u in usage.items()]}

    def pod(self, namespace: str, name: str) -> Obj | None:
        pod = self._pods.get(f"{namespace}/{name}")
        return self.pod_metrics(pod) if pod is not None else None

    def pods(self, namespace: str, selector: LabelSelector | None) -> list[Obj]:
        candidates = self._pods.by_index("namespace", namespace) if namespace else self._pods.list()
        out = []
        for pod in candidates:
            if selector is not None and not selector.matches(pod["metadata"].get("labels") or {}):
                continue
            if (metrics := self.pod_metrics(pod)) is not None:
                out.append(metrics)
        return sorted(out, key=lambda m: (m["metadata"]["namespace"], m["metadata"]["name"]))

    def node_usage(self, node_name: str) -> Usage:
        return node_usage(self._pods.by_index("node", node_name), self.source)

    def node_metrics(self, node: Obj) -> Obj | None:
        meta = node["metadata"]
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (node.get("status") or {}).get("conditions") or [])
        if not ready:
            return None  # metrics-server has no fresh scrape of a node that is not ready
        now = self._now()
        return {"kind": "NodeMetrics", "apiVersion": API_VERSION,
                "metadata": {"name": meta["name"], "creationTimestamp": now,
                             **({"labels": dict(meta["labels"])} if meta.get("labels") else {})},
                "timestamp": now, "window": WINDOW, "usage": self.node_usage(meta["name"]).as_quantities()}

    def node(self, name: str) -> Obj | None:
        node = self._nodes.get(name)
        return self.node_metrics(node) if node is not None else None

    def nodes(self, selector: LabelSelector | None) -> list[Obj]:
        out = []
        for node in self._nodes.list():
            if selector is not None and not selector.matches(node["metadata"].get("labels") or {}):
                continue
            if (metrics := self.node_metrics(node)) is not None:
                out.append(metrics)
        return sorted(out, key=lambda m: m["metadata"]["name"])


def metrics_list(kind: str, items: list[Obj]) -> dict[str, Any]:
    return {"kind": f"{kind}List", "apiVersion": API_VERSION, "metadata": {}, "items": items}

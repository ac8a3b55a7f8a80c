"""Requests to metrics.k8s.io/v1beta1: get and list only, as metrics-server serves them."""

from __future__ import annotations

from typing import Any

from tinykube.machinery import errors
from tinykube.machinery.selectors import SelectorError, parse_label_selector
from tinykube.metrics.api import ClusterMetrics, metrics_list
from tinykube.registry.resources import Resource

NOT_ALLOWED = "the server does not allow this method on the requested resource"


def serve_metrics(metrics: ClusterMetrics | None, method: str, params: dict[str, str], res: Resource,
                  namespace: str, name: str) -> dict[str, Any]:
    if method not in ("GET", "HEAD") or params.get("watch") in ("1", "true"):
        raise errors.method_not_allowed(NOT_ALLOWED)
    if metrics is None:
        raise errors.StatusError(503, "ServiceUnavailable", "the server is currently unable to handle the request")
    try:
        selector = parse_label_selector(params["labelSelector"]) if params.get("labelSelector") else None
    except SelectorError as exc:
        raise errors.bad_request(str(exc)) from exc
    if res.kind == "PodMetrics":
        if name:
            found = metrics.pod(namespace, name)
            if found is None:
                raise errors.not_found(res.group, "podmetrics", f"{namespace}/{name}")
            return found
        return metrics_list("PodMetrics", metrics.pods(namespace, selector))
    if name:
        found = metrics.node(name)
        if found is None:
            raise errors.not_found(res.group, "nodemetrics", name)
        return found
    return metrics_list("NodeMetrics", metrics.nodes(selector))

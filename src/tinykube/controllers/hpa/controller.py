"""The HorizontalPodAutoscaler loop (upstream pkg/controller/podautoscaler/horizontal.go).

Every HPA is reconciled every sync period (15 s of cluster time): read the target's scale (its
spec.replicas and selector), turn each metric into a replica count with the replica
calculator, pick the largest, normalise it by the behaviour rules, write the new size through
the target's /scale subresource, and record status, conditions and events in upstream's words.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any

from tinykube.client.api import PODS, Client, Obj, object_key, resource
from tinykube.client.events import EventRecorder
from tinykube.client.informer import EventHandler, InformerFactory, by_namespace
from tinykube.client.workqueue import WorkQueue, run_term
from tinykube.clock import timestamp_of
from tinykube.controllers.hpa import behavior as rules
from tinykube.controllers.hpa.behavior import History
from tinykube.controllers.hpa.replicas import MetricsError, PodSample, average_value_replicas, utilization_replicas
from tinykube.machinery.errors import StatusError
from tinykube.machinery.jsoncopy import json_copy
from tinykube.machinery.quantity import canonical, parse_quantity
from tinykube.machinery.selectors import LabelSelector, label_selector_from_map, label_selector_from_object
from tinykube.metrics.api import ClusterMetrics
from tinykube.registry.resources import RESOURCE_INDEX

log = logging.getLogger(__name__)

HPAS = resource("autoscaling/v2", "horizontalpodautoscalers")
SYNC_PERIOD = 15.0  # --horizontal-pod-autoscaler-sync-period
WORKERS = 2


class ComputeError(Exception):
    """A metric gave no replica count; `reason` names the condition and event."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class HorizontalPodAutoscalerController:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory, metrics: ClusterMetrics) -> None:
        self.client = client
        self.clock = clock
        self.metrics = metrics
        self.recorder = EventRecorder(client, clock, "horizontal-pod-autoscaler")
        self.hpas = informers.informer(HPAS, {"namespace": by_namespace})
        self.pods = informers.informer(PODS, {"namespace": by_namespace})
        self.queue: WorkQueue[str] = WorkQueue(clock, name="horizontalpodautoscalers")
        self.history: dict[str, History] = {}
        self.hpas.add_handler(EventHandler(self._added, lambda old, new: self._changed(old, new), self._deleted))

    def _added(self, hpa: Obj) -> None:
        self.queue.add(object_key(hpa))

    def _changed(self, old: Obj, new: Obj) -> None:
        if old.get("spec") != new.get("spec"):
            self.queue.add(object_key(new))  # status writes wait for the next period

    def _deleted(self, hpa: Obj) -> None:
        self.history.pop(object_key(hpa), None)

    async def run(self) -> None:
        self.queue = WorkQueue(self.clock, name="horizontalpodautoscalers")
        await run_term(self.queue, self.sync, WORKERS, log, informers=(self.hpas, self.pods),
                       keys=lambda: map(object_key, self.hpas.cache.list()), companions=[self.recorder.run()])

    async def sync(self, key: str) -> None:
        cached = self.hpas.cache.get(key)
        if cached is None:
            self.history.pop(key, None)
            return
        try:
            await self.reconcile(json_copy(cached), key)
        finally:
            self.queue.add_after(key, SYNC_PERIOD)

    # ------------------------------------------------------------------ one reconcile

    async def reconcile(self, hpa: Obj, key: str) -> None:
        spec = hpa.get("spec") or {}
        original = json_copy(hpa.get("status") or {})
        status: Obj = json_copy(original)
        ref = spec.get("scaleTargetRef") or {}
        now, stamp = self.clock.time(), self.clock.rfc3339()
        try:
            target_res, target = await self._target(hpa, ref)
        except ComputeError as exc:
            self.recorder.event(hpa, "Warning", "FailedGetScale", str(exc))
            set_condition(status, "AbleToScale", "False", "FailedGetScale",
                          f"the HPA controller was unable to get the target's current scale: {exc}", stamp)
            await self._write_status(hpa, original, status)
            return
        set_condition(status, "AbleToScale", "True", "SucceededGetScale",
                      "the HPA controller was able to get the target's current scale", stamp)
        current = int((target.get("spec") or {}).get("replicas", 1))
        history = self.history.setdefault(key, History())
        if not history.recommendations:
            history.recommendations.append(rules.Recommendation(current, now))
        min_replicas = int(spec.get("minReplicas", 1))
        max_replicas = int(spec.get("maxReplicas", 1))
        metric_statuses: list[Obj] = list(status.get("currentMetrics") or [])
        rescale, desired, reason = True, 0, ""
        if current == 0 and min_replicas != 0:
            rescale = False
            set_condition(status, "ScalingActive", "False", "ScalingDisabled",
                          "scaling is disabled since the replica count of the target is zero", stamp)
        elif current > max_replicas:
            desired, reason = max_replicas, "Current number of replicas above Spec.MaxReplicas"
        elif current < min_replicas:
            desired, reason = min_replicas, "Current number of replicas below Spec.MinReplicas"
        else:
            try:
                proposal, metric_name, metric_statuses = self._compute(hpa, status, current, target, stamp, now)
            except ComputeError as exc:
                self.recorder.event(hpa, "Warning", "FailedComputeMetricsReplicas", str(exc))
                status.update(currentReplicas=current, desiredReplicas=int(original.get("desiredReplicas", 0)))
                await self._write_status(hpa, original, status)
                return
            desired = proposal
            if desired > current:
                reason = f"{metric_name} above target"
            elif desired < current:
                reason = "All metrics below target"
            desired = self._normalize(hpa, status, history, current, desired, min_replicas, max_replicas, now, stamp)
            rescale = desired != current
        if rescale:
            try:
                await self.client.patch(target_res, ref["name"], {"spec": {"replicas": desired}},
                                        hpa["metadata"]["namespace"], subresource="scale")
            except StatusError as exc:
                self.recorder.event(hpa, "Warning", "FailedRescale",
                                    f"New size: {desired}; reason: {reason}; error: {exc.message}")
                set_condition(status, "AbleToScale", "False", "FailedUpdateScale",
                              f"the HPA controller was unable to update the target scale: {exc.message}", stamp)
                status["currentReplicas"] = current
                await self._write_status(hpa, original, status)
                return
            set_condition(status, "AbleToScale", "True", "SucceededRescale",
                          f"the HPA controller was able to update the target scale to {desired}", stamp)
            self.recorder.event(hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
            rules.record_scale(history, spec.get("behavior"), current, desired, now)
            status["lastScaleTime"] = stamp
        else:
            desired = current
        status["currentReplicas"] = current
        status["desiredReplicas"] = desired
        if metric_statuses:
            status["currentMetrics"] = metric_statuses
        else:
            status.pop("currentMetrics", None)
        await self._write_status(hpa, original, status)

    async def _target(self, hpa: Obj, ref: Obj) -> tuple[Any, Obj]:
        group, _, version = (ref.get("apiVersion") or "").rpartition("/")
        kind = ref.get("kind", "")
        res = RESOURCE_INDEX.by_kind(group, version, kind)
        if res is None or res.subresource("scale") is None:
            raise ComputeError("FailedGetScale", f'no matches for kind "{kind}" in group "{group}"')
        try:
            return res, await self.client.get(res, ref.get("name", ""), hpa["metadata"]["namespace"])
        except StatusError as exc:
            raise ComputeError("FailedGetScale", exc.message) from exc

    # ------------------------------------------------------------------ metrics

    def _compute(self, hpa: Obj, status: Obj, current: int, target: Obj, stamp: str,
                 now: float) -> tuple[int, str, list[Obj]]:
        """The largest replica count any metric asks for (upstream computeReplicasForMetrics)."""
        specs = (hpa.get("spec") or {}).get("metrics") or []
        selector = target_selector(target)
        pods = [p for p in self.pods.cache.by_index("namespace", hpa["metadata"]["namespace"])
                if selector.matches(p["metadata"].get("labels") or {})]
        replicas, chosen, statuses = 0, "", []
        first_error: ComputeError | None = None
        invalid = 0
        for metric in specs:
            try:
                proposal, name, metric_status = self._one_metric(metric, current, pods, now)
            except ComputeError as exc:
                self.recorder.event(hpa, "Warning", exc.reason, str(exc))
                invalid += 1
                first_error = first_error or exc
                continue
            statuses.append(metric_status)
            if replicas == 0 or proposal > replicas:
                replicas, chosen = proposal, name
        if first_error is not None and (invalid >= len(specs) or replicas < current):
            set_condition(status, "ScalingActive", "False", first_error.reason,
                          f"the HPA was unable to compute the replica count: {first_error}", stamp)
            raise ComputeError(first_error.reason, f"invalid metrics ({invalid} invalid out of {len(specs)}), "
                                                   f"first error is: {first_error}")
        set_condition(status, "ScalingActive", "True", "ValidMetricFound",
                      f"the HPA was able to successfully calculate a replica count from {chosen}", stamp)
        return replicas, chosen, statuses

    def _one_metric(self, metric: Obj, current: int, pods: list[Obj], now: float) -> tuple[int, str, Obj]:
        kind = metric.get("type", "")
        if kind not in ("Resource", "ContainerResource"):
            source = (metric.get({"Pods": "pods", "Object": "object", "External": "external"}.get(kind, ""))
                      or {}).get("metric", {}).get("name", "")
            api = "external.metrics.k8s.io" if kind == "External" else "custom.metrics.k8s.io"
            raise ComputeError(f"FailedGet{kind}Metric",
                               f"unable to get metric {source}: no {api} API is served by tinykube")
        key = "resource" if kind == "Resource" else "containerResource"
        source = metric.get(key) or {}
        name = source.get("name", "")
        container = source.get("container", "") if kind == "ContainerResource" else ""
        target = source.get("target") or {}
        usage = self._usage(pods, name, container)
        samples = [pod_sample(p, name, container) for p in pods]
        reason = f"FailedGet{kind}Metric"
        if not usage:
            raise ComputeError(reason, f"failed to get {name} {'usage' if 'averageValue' in target else 'utilization'}"
                                       f": unable to get metrics for resource {name}: no metrics returned from "
                                       f"resource metrics API")
        try:
            if target.get("averageValue") is not None:
                replicas, raw = average_value_replicas(current, parse_quantity(str(target["averageValue"])).milli(),
                                                       samples, usage, name, now, now)
                current_status: Obj = {"averageValue": milli_quantity(raw)}
                label = f"{name} resource"
            elif target.get("averageUtilization") is not None:
                replicas, percent, raw = utilization_replicas(current, int(target["averageUtilization"]), samples,
                                                              usage, name, now, now)
                current_status = {"averageUtilization": percent, "averageValue": milli_quantity(raw)}
                label = f"{name} {'container ' if container else ''}resource utilization (percentage of request)"
            else:
                raise ComputeError(reason, "invalid resource metric source: neither an average utilization target "
                                           "nor an average value (usage) target was set")
        except MetricsError as exc:
            what = "usage" if target.get("averageValue") is not None else "utilization"
            raise ComputeError(reason, f"failed to get {name} {what}: {exc}") from exc
        metric_status = {"type": kind, key: {"name": name, "current": current_status}}
        if container:
            metric_status[key]["container"] = container
        return replicas, label, metric_status

    def _usage(self, pods: list[Obj], resource_name: str, container: str) -> dict[str, int]:
        """Milli-units of `resource_name` per pod that reports metrics."""
        out: dict[str, int] = {}
        for pod in pods:
            per_container = self.metrics.source(pod)
            if per_container is None:
                continue
            chosen = [u for n, u in per_container.items() if not container or n == container]
            if container and not chosen:
                continue
            if resource_name == "cpu":
                out[pod["metadata"]["name"]] = int(round(sum(u.cpu_millis for u in chosen)))
            elif resource_name == "memory":
                out[pod["metadata"]["name"]] = sum(u.memory_bytes for u in chosen) * 1000
        return out

    # ------------------------------------------------------------------ normalisation

    def _normalize(self, hpa: Obj, status: Obj, history: History, current: int, desired: int, min_replicas: int,
                   max_replicas: int, now: float, stamp: str) -> int:
        behavior = (hpa.get("spec") or {}).get("behavior")
        if behavior is None:
            stabilized = rules.stabilize(history, desired, now)
            able = rules.DOWN_STABILIZED if stabilized != desired else \
                ("ReadyForNewScale", "recommended size matches current size")
            final, limited = rules.convert_with_rules(current, stabilized, min_replicas, max_replicas)
        else:
            up = float(((behavior.get("scaleUp") or {}).get("stabilizationWindowSeconds")) or 0)
            down_raw = (behavior.get("scaleDown") or {}).get("stabilizationWindowSeconds")
            down = rules.DOWNSCALE_STABILIZATION if down_raw is None else float(down_raw)
            stabilized, stabilized_reason = rules.stabilize_with_behavior(history, desired, current, up, down, now)
            able = stabilized_reason if stabilized != desired else \
                ("ReadyForNewScale", "recommended size matches current size")
            final, limited = rules.convert_with_behavior(history, current, stabilized, min_replicas, max_replicas,
                                                         behavior, now)
        set_condition(status, "AbleToScale", "True", able[0], able[1], stamp)
        set_condition(status, "ScalingLimited", "False" if final == stabilized else "True", limited[0], limited[1],
                      stamp)
        return final

    async def _write_status(self, hpa: Obj, original: Obj, status: Obj) -> None:
        if status == original:
            return
        try:
            await self.client.update_status(HPAS, dict(hpa, status=status))
        except StatusError as exc:
            if exc.code not in (404, 409):
                raise


# ---------------------------------------------------------------------- helpers

def set_condition(status: Obj, kind: str, state: str, reason: str, message: str, now: str) -> None:
    """Upstream setConditionInList: update in place; lastTransitionTime moves on a status flip."""
    conditions = status.setdefault("conditions", [])
    existing = next((c for c in conditions if c.get("type") == kind), None)
    if existing is None:
        existing = {"type": kind}
        conditions.append(existing)
    if existing.get("status") != state:
        existing["lastTransitionTime"] = now
    existing.update(status=state, reason=reason, message=message)


def target_selector(target: Obj) -> LabelSelector:
    spec = target.get("spec") or {}
    selector = spec.get("selector")
    if target.get("kind") == "ReplicationController":
        return label_selector_from_map(selector or ((spec.get("template") or {}).get("metadata") or {}).get("labels"))
    return label_selector_from_object(selector)


def pod_sample(pod: Obj, resource_name: str, container: str) -> PodSample:
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    request, missing_in = 0, ""
    for c in spec.get("containers") or []:
        if container and c.get("name") != container:
            continue
        value = ((c.get("resources") or {}).get("requests") or {}).get(resource_name)
        if value is None:
            request, missing_in = None, c.get("name", "")
            break
        amount = parse_quantity(str(value))
        request += amount.milli() if resource_name == "cpu" else int(amount.value * 1000)
    return PodSample(name=meta["name"], phase=status.get("phase", "Pending"), deleting=bool(meta.get("deletionTimestamp")),
                     ready=ready.get("status") if ready else None,
                     ready_since=timestamp_of(ready.get("lastTransitionTime")) if ready else None,
                     start=timestamp_of(status.get("startTime")), request_milli=request,
                     missing_request_container=missing_in)



def milli_quantity(milli: int) -> str:
    """resource.NewMilliQuantity(v, DecimalSI).String()."""
    return canonical(Fraction(milli, 1000), "DecimalSI")

"""Jobs: run pods until enough of them succeed, or give up as upstream's job controller does.

The client-go shape of the other controllers: handlers only enqueue keys (pod events batched
by a second, spec changes at once), `sync` re-reads the caches. Every pod carries the
`batch.kubernetes.io/job-tracking` finalizer; a finished pod is first written to
`status.uncountedTerminatedPods`, then its finalizer is removed, then it moves into the
`succeeded`/`failed` counters, so no pod is counted twice or lost across restarts. A failing
Job first gets the interim FailureTarget condition (a succeeding one SuccessCriteriaMet) and
only gets Failed/Complete once none of its pods is still terminating (1.31+ behaviour).
Arithmetic lives in `jobutil.py`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from tinykube.client.api import PODS, STRATEGIC_PATCH, Client, Obj, object_key, resource
from tinykube.client.events import EventRecorder
from tinykube.client.informer import EventHandler, InformerFactory, by_controller_uid, by_namespace
from tinykube.client.workqueue import WorkQueue, run_workers
from tinykube.clock import timestamp_of
from tinykube.controllers import jobutil as ju
from tinykube.controllers.expectations import Expectations
from tinykube.controllers.podutil import is_ready, pods_to_delete, slow_start_batches
from tinykube.controllers.replicaset import controller_ref, orphans_by_namespace, owner_reference
from tinykube.machinery.errors import StatusError
from tinykube.machinery.jsoncopy import json_copy
from tinykube.machinery.selectors import LabelSelector, label_selector_from_object

log = logging.getLogger(__name__)

JOBS = resource("batch/v1", "jobs")
WORKERS = 5
SYNC_BATCH_PERIOD = 1.0  # syncJobBatchPeriod: pod events for a Job are folded into one sync


class JobController:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory) -> None:
        self.client = client
        self.clock = clock
        self.recorder = EventRecorder(client, clock, "job-controller")
        self.jobs = informers.informer(JOBS, {"namespace": by_namespace})
        self.pods = informers.informer(PODS, {"namespace": by_namespace, "controller": by_controller_uid,
                                              "orphans": orphans_by_namespace})
        self._fresh_state()
        self.jobs.add_handler(EventHandler(self._job_added, self._job_updated, self._job_deleted))
        self.pods.add_handler(EventHandler(self._pod_added, self._pod_updated, self._pod_deleted))

    def _fresh_state(self) -> None:
        self.queue: WorkQueue[str] = WorkQueue(self.clock, name="job")
        self.orphan_queue: WorkQueue[str] = WorkQueue(self.clock, name="job_orphan_pod")
        self.expectations = Expectations(self.clock)
        self.finalizer_expectations: dict[str, set[str]] = {}
        self.backoff: dict[str, ju.BackoffRecord] = {}

    # ------------------------------------------------------------------ ownership

    def _job_of(self, pod: Obj, ref: Obj | None = None) -> Obj | None:
        ref = ref if ref is not None else controller_ref(pod)
        if ref is None or ref.get("kind") != "Job":
            return None
        job = self.jobs.cache.get(f"{pod['metadata']['namespace']}/{ref.get('name')}")
        return job if job is not None and job["metadata"].get("uid") == ref.get("uid") else None

    def _matching_jobs(self, pod: Obj) -> list[str]:
        labels = pod["metadata"].get("labels") or {}
        out = []
        for job in self.jobs.cache.by_index("namespace", pod["metadata"]["namespace"]):
            try:
                if label_selector_from_object((job.get("spec") or {}).get("selector")).matches(labels):
                    out.append(object_key(job))
            except ValueError:
                continue
        return out

    # ------------------------------------------------------------------ handlers

    def _enqueue_batched(self, key: str) -> None:
        self.queue.add_after(key, SYNC_BATCH_PERIOD)

    def _job_added(self, job: Obj) -> None:
        self.queue.add(object_key(job))

    def _job_updated(self, old: Obj, job: Obj) -> None:
        key = object_key(job)
        if job["metadata"].get("generation") == old["metadata"].get("generation"):
            self._enqueue_batched(key)
        else:
            self.queue.add(key)
        if ju.is_finished(job):
            self._cleanup_finalizers(job)
        spec, old_spec = job.get("spec") or {}, old.get("spec") or {}
        start = timestamp_of((job.get("status") or {}).get("startTime"))
        deadline = spec.get("activeDeadlineSeconds")
        if start is not None and deadline is not None and old_spec.get("activeDeadlineSeconds") != deadline:
            self.queue.add_after(key, max(0.0, start + int(deadline) - self.clock.time()))

    def _job_deleted(self, job: Obj) -> None:
        self.queue.add(object_key(job))
        self._cleanup_finalizers(job)

    def _cleanup_finalizers(self, job: Obj) -> None:
        for pod in self.pods.cache.by_index("controller", job["metadata"].get("uid", "")):
            if ju.has_finalizer(pod):
                self.orphan_queue.add(object_key(pod))

    def _pod_added(self, pod: Obj) -> None:
        if ju.deleting(pod):
            self._pod_gone(pod, final=False)
            return
        ref = controller_ref(pod)
        if ref is not None:
            job = self._job_of(pod, ref)
            if job is not None:
                key = object_key(job)
                self.expectations.creation_observed(key)
                self._enqueue_batched(key)
            elif ju.has_finalizer(pod):
                self.orphan_queue.add(object_key(pod))
            return
        if ju.has_finalizer(pod):
            self.orphan_queue.add(object_key(pod))
        for key in self._matching_jobs(pod):
            self._enqueue_batched(key)

    def _pod_updated(self, old: Obj, pod: Obj) -> None:
        if old["metadata"].get("resourceVersion") == pod["metadata"].get("resourceVersion"):
            return
        if ju.deleting(pod):
            self._pod_gone(pod, final=False)
            return
        removed = not ju.has_finalizer(pod)
        ref, old_ref = controller_ref(pod), controller_ref(old)
        if old_ref is not None and old_ref != ref:
            old_job = self._job_of(old, old_ref)
            if old_job is not None:
                if removed:
                    self._finalizer_observed(object_key(old_job), pod["metadata"].get("uid", ""))
                self._enqueue_batched(object_key(old_job))
        if ref is not None:
            job = self._job_of(pod, ref)
            if job is None:
                if ju.has_finalizer(pod):
                    self.orphan_queue.add(object_key(pod))
                return
            key = object_key(job)
            if removed:
                self._finalizer_observed(key, pod["metadata"].get("uid", ""))
            self._enqueue_batched(key)
            return
        if ju.has_finalizer(pod):
            self.orphan_queue.add(object_key(pod))
        if old["metadata"].get("labels") != pod["metadata"].get("labels") or old_ref != ref:
            for key in self._matching_jobs(pod):
                self._enqueue_batched(key)

    def _pod_deleted(self, pod: Obj) -> None:
        self._pod_gone(pod, final=True)

    def _pod_gone(self, pod: Obj, final: bool) -> None:
        ref = controller_ref(pod)
        if ref is None:
            if ju.has_finalizer(pod):
                self.orphan_queue.add(object_key(pod))
            return
        job = self._job_of(pod, ref)
        if job is None or ju.is_finished(job):
            if ju.has_finalizer(pod):
                self.orphan_queue.add(object_key(pod))
            return
        key = object_key(job)
        self.expectations.deletion_observed(key, object_key(pod))
        if final or not ju.has_finalizer(pod):
            self._finalizer_observed(key, pod["metadata"].get("uid", ""))
        self._enqueue_batched(key)

    def _finalizer_observed(self, key: str, uid: str) -> None:
        expected = self.finalizer_expectations.get(key)
        if expected is not None:
            expected.discard(uid)
            if not expected:
                del self.finalizer_expectations[key]

    # ------------------------------------------------------------------ run

    async def run(self) -> None:
        await self.jobs.wait_synced()
        await self.pods.wait_synced()
        self._fresh_state()
        for job in self.jobs.cache.list():
            self.queue.add(object_key(job))
        for pod in self.pods.cache.list():
            if ju.has_finalizer(pod) and (controller_ref(pod) is None or self._job_of(pod) is None):
                self.orphan_queue.add(object_key(pod))
        recorder = asyncio.create_task(self.recorder.run())
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(run_workers(self.queue, self.sync, WORKERS, log))
                group.create_task(run_workers(self.orphan_queue, self.sync_orphan_pod, 1, log))
        finally:
            self.queue.shut_down()
            self.orphan_queue.shut_down()
            recorder.cancel()

    # ------------------------------------------------------------------ orphans

    async def sync_orphan_pod(self, key: str) -> None:
        pod = self.pods.cache.get(key)
        if pod is None or not ju.has_finalizer(pod):
            return
        ref = controller_ref(pod)
        if ref is not None:
            if ref.get("kind") != "Job" or ref.get("apiVersion") != "batch/v1":
                return
            job = self._job_of(pod, ref)
            if job is not None and self._managed_elsewhere(job):
                return
            if job is not None and not ju.is_finished(job):
                return  # adopted: its Job removes the finalizer when it has counted the pod
        await self._remove_finalizer(pod)

    @staticmethod
    def _managed_elsewhere(job: Obj) -> bool:
        managed_by = (job.get("spec") or {}).get("managedBy")
        return bool(managed_by) and managed_by != ju.CONTROLLER_NAME

    async def _remove_finalizer(self, pod: Obj) -> None:
        meta = pod["metadata"]
        await self.client.patch(PODS, meta["name"], {"metadata": {
            "$deleteFromPrimitiveList/finalizers": [ju.TRACKING_FINALIZER]}}, meta["namespace"],
            patch_type=STRATEGIC_PATCH)

    # ------------------------------------------------------------------ sync

    async def sync(self, key: str) -> None:
        shared = self.jobs.cache.get(key)
        if shared is None:
            self.expectations.forget(key)
            self.finalizer_expectations.pop(key, None)
            self.backoff.pop(key, None)
            return
        if self._managed_elsewhere(shared):
            return
        if ju.is_finished(shared):
            self.backoff.pop(key, None)
            return
        spec = shared.get("spec") or {}
        mode = spec.get("completionMode") or "NonIndexed"
        if mode not in ("NonIndexed", "Indexed"):
            self.recorder.event(shared, "Warning", "UnknownCompletionMode",
                                "Skipped Job sync because completion mode is unknown")
            return
        job = json_copy(shared)
        await JobSync(self, key, job).run()

    async def claim(self, job: Obj) -> list[Obj]:
        """The Job's pods: its own, plus matching orphans it adopts (with the tracking finalizer);
        owned pods whose labels stopped matching are released."""
        meta = job["metadata"]
        try:
            selector: LabelSelector | None = label_selector_from_object((job.get("spec") or {}).get("selector"))
        except ValueError:
            selector = None
        uid = meta["uid"]
        job_deleting = bool(meta.get("deletionTimestamp"))
        out: list[Obj] = []
        for pod in self.pods.cache.by_index("controller", uid):
            labels = pod["metadata"].get("labels") or {}
            if selector is not None and selector.matches(labels):
                out.append(pod)
            elif not job_deleting and not ju.deleting(pod):
                await self._patch_pod(pod, {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": uid}],
                                                         "uid": pod["metadata"]["uid"]}})
        if selector is None or job_deleting:
            return out
        for pod in self.pods.cache.by_index("orphans", meta["namespace"]):
            if ju.deleting(pod) or not selector.matches(pod["metadata"].get("labels") or {}):
                continue
            # one patch: the controller reference and the tracking finalizer (finalizers merge)
            adopted = await self._patch_pod(pod, {"metadata": {"ownerReferences": [owner_reference(job)],
                                                               "finalizers": [ju.TRACKING_FINALIZER],
                                                               "uid": pod["metadata"]["uid"]}})
            if adopted is not None:
                out.append(adopted)
        return out

    async def _patch_pod(self, pod: Obj, body: Obj) -> Obj | None:
        meta = pod["metadata"]
        try:
            return await self.client.patch(PODS, meta["name"], body, meta["namespace"], patch_type=STRATEGIC_PATCH)
        except StatusError as exc:
            if exc.code in (404, 409, 422):
                return None
            raise


class JobSync:
    """One sync of one Job (upstream's syncJobCtx plus syncJob)."""

    def __init__(self, ctl: JobController, key: str, job: Obj) -> None:
        self.ctl = ctl
        self.key = key
        self.job = job
        self.spec: Obj = job.get("spec") or {}
        self.status: Obj = job.setdefault("status", {})
        self.indexed = self.spec.get("completionMode") == "Indexed"
        completions = self.spec.get("completions")
        self.completions: int | None = int(completions) if completions is not None else None
        self.parallelism = int(self.spec.get("parallelism") if self.spec.get("parallelism") is not None else 1)
        self.policy: Obj | None = self.spec.get("podFailurePolicy")
        self.only_replace_failed = self.spec.get("podReplacementPolicy") == "Failed" or self.policy is not None
        self.finished: Obj | None = None
        self.now = ctl.clock.time()

    @property
    def suspended(self) -> bool:
        return bool(self.spec.get("suspend"))

    def pod_failed(self, pod: Obj) -> bool:
        return ju.is_pod_failed(pod, self.only_replace_failed)

    def _valid_index(self, pod: Obj) -> bool:
        return not self.indexed or ju.valid_index(pod, self.completions or 0) is not None

    def _new_finished(self, uncounted: set[str], predicate: Any) -> list[Obj]:
        out = []
        for pod in self.pods:
            uid = pod["metadata"].get("uid", "")
            if not ju.has_finalizer(pod) or uid in uncounted or uid in self.expected_rm:
                continue
            if self._valid_index(pod) and predicate(pod):
                out.append(pod)
        return out

    async def run(self) -> None:
        ctl, job, status = self.ctl, self.job, self.status
        uncounted = status.get("uncountedTerminatedPods") or {}
        self.uncounted_succeeded = set(uncounted.get("succeeded") or [])
        self.uncounted_failed = set(uncounted.get("failed") or [])
        status["uncountedTerminatedPods"] = {k: list(v) for k, v in uncounted.items() if v}
        satisfied = ctl.expectations.satisfied(self.key)
        self.pods = await ctl.claim(job)
        self.active_pods = [p for p in self.pods if ju.is_active(p)]
        self.ready = sum(1 for p in self.active_pods if is_ready(p))
        self.expected_rm = set(ctl.finalizer_expectations.get(self.key, ()))
        self.terminating = sum(1 for p in self.pods if ju.is_terminating(p))
        active = len(self.active_pods)
        new_succeeded = self._new_finished(self.uncounted_succeeded, lambda p: ju.phase(p) == "Succeeded")
        new_failed = self._new_finished(self.uncounted_failed, self.pod_failed)
        counted_failed = sum(1 for p in new_failed if ju.match_pod_failure_policy(self.policy, p)[1])
        self.succeeded = int(status.get("succeeded") or 0) + len(new_succeeded) + len(self.uncounted_succeeded)
        self.failed = int(status.get("failed") or 0) + counted_failed + len(self.uncounted_failed)
        if not status.get("startTime") and not self.suspended:
            status["startTime"] = ju.format_time_s(self.now)
        self.new_backoff = ju.next_backoff_record(ctl.backoff.get(self.key, ju.BackoffRecord()),
                                                  [ju.finish_time(p) for p in new_succeeded],
                                                  [ju.finish_time(p) for p in new_failed])
        conditions = status.get("conditions") or []
        met = ju.find_condition(conditions, ju.SUCCESS_CRITERIA_MET)
        self.finished = met if met is not None and met.get("status") == "True" else None
        if self.finished is None:
            target = ju.find_condition(conditions, ju.FAILURE_TARGET)
            if target is not None and target.get("status") == "True":
                self.finished = ju.new_condition(ju.FAILED, "True", target.get("reason", ""),
                                                 target.get("message", ""), self.now)
            else:
                message = self._fail_job_message()
                if message is not None:
                    self.finished = ju.new_condition(ju.FAILURE_TARGET, "True", ju.REASON_POLICY, message, self.now)
        if self.finished is None:
            start = timestamp_of(status.get("startTime"))
            deadline = self.spec.get("activeDeadlineSeconds")
            restart_policy = ((self.spec.get("template") or {}).get("spec") or {}).get("restartPolicy", "")
            verdict = ju.failure_verdict(
                self.failed, int(self.spec.get("backoffLimit", 6)),
                ju.past_backoff_limit_on_failure(restart_policy, int(self.spec.get("backoffLimit", 6)), self.pods),
                int(deadline) if deadline is not None else None, start, self.suspended, self.now)
            if verdict is not None:
                self.finished = ju.new_condition(ju.FAILURE_TARGET, "True", verdict[0], verdict[1], self.now)
            elif deadline is not None and not self.suspended and start is not None:
                ctl.queue.add_after(self.key, max(0.0, start + int(deadline) - self.now))
        if self.indexed:
            self.prev_indexes = ju.parse_indexes(status.get("completedIndexes"), self.completions or 0)
            self.succeeded_indexes = self.prev_indexes | {
                ix for p in self.pods if ju.phase(p) == "Succeeded" and ju.has_finalizer(p)
                and (ix := ju.valid_index(p, self.completions or 0)) is not None}
            self.succeeded = len(self.succeeded_indexes)
        error: BaseException | None = None
        suspend_changed = False
        if self.finished is not None:
            deleted_ready, deleted, error = await self._delete_active(self.active_pods)
            if deleted != active or not satisfied:
                self.finished = None  # pods still to see go, or finalizers still to remove
            active -= deleted
            self.terminating += deleted
            self.ready -= deleted_ready
        else:
            managed = False
            if satisfied and not job["metadata"].get("deletionTimestamp"):
                active, error = await self._manage()
                managed = True
            if ju.is_complete(self.completions, self.succeeded, active):
                self.finished = ju.new_condition(ju.SUCCESS_CRITERIA_MET, "True", ju.REASON_COMPLETIONS,
                                                 ju.MESSAGE_COMPLETIONS, self.now)
            elif managed:
                if self.suspended:
                    status["conditions"], suspend_changed = ju.ensure_condition(
                        status.get("conditions") or [], ju.SUSPENDED, "True", "JobSuspended", "Job suspended", self.now)
                    if suspend_changed:
                        ctl.recorder.event(job, "Normal", "Suspended", "Job suspended")
                else:
                    status["conditions"], suspend_changed = ju.ensure_condition(
                        status.get("conditions") or [], ju.SUSPENDED, "False", "JobResumed", "Job resumed", self.now)
                    if suspend_changed:
                        ctl.recorder.event(job, "Normal", "Resumed", "Job resumed")
                        status["startTime"] = ju.format_time_s(self.now)
                if not status.get("conditions"):
                    status.pop("conditions", None)
        needs_update = suspend_changed or active != int(status.get("active") or 0) or \
            self.ready != status.get("ready") or self.terminating != status.get("terminating")
        status["active"] = active
        status["ready"] = self.ready
        status["terminating"] = self.terminating
        await self._track_and_remove_finalizers(needs_update)
        if error is not None:
            raise error

    # ------------------------------------------------------------------ policy

    def _fail_job_message(self) -> str | None:
        if not self.policy:
            return None
        for pod in self.pods:
            if self.pod_failed(pod):
                message, _, _ = ju.match_pod_failure_policy(self.policy, pod)
                if message is not None:
                    return message
        return None

    # ------------------------------------------------------------------ pods

    async def _delete_active(self, pods: list[Obj]) -> tuple[int, int, BaseException | None]:
        """Delete active pods keeping their finalizers (they are counted as failed first)."""
        deleted_ready, deleted, error = 0, 0, None
        for pod in pods:
            meta = pod["metadata"]
            try:
                await self.ctl.client.delete(PODS, meta["name"], meta["namespace"], uid=meta.get("uid", ""))
                self.ctl.recorder.event(self.job, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}")
            except StatusError as exc:
                if exc.code != 404:
                    self.ctl.recorder.event(self.job, "Warning", "FailedDelete", f"Error deleting: {exc.message}")
                    error = exc
                    continue
            deleted += 1
            deleted_ready += 1 if is_ready(pod) else 0
        return deleted_ready, deleted, error

    async def _delete_job_pods(self, pods: list[Obj]) -> tuple[int, int, BaseException | None]:
        """Scale-down and suspension: drop the finalizer first, so these pods are never counted."""
        ctl = self.ctl
        deleted_ready, deleted, error = 0, 0, None
        for pod in pods:
            meta = pod["metadata"]
            try:
                if ju.has_finalizer(pod):
                    await ctl._remove_finalizer(pod)
                await ctl.client.delete(PODS, meta["name"], meta["namespace"], uid=meta.get("uid", ""))
                ctl.recorder.event(self.job, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}")
            except StatusError as exc:
                ctl.expectations.deletion_observed(self.key, object_key(pod))
                if exc.code != 404:
                    ctl.recorder.event(self.job, "Warning", "FailedDelete", f"Error deleting: {exc.message}")
                    error = exc
                    continue
            deleted += 1
            deleted_ready += 1 if is_ready(pod) else 0
        return deleted_ready, deleted, error

    def _pods_for_removal(self, count: int) -> list[Obj]:
        """Indexed: pods with invalid or duplicated indexes first; then the least advanced."""
        remove: list[Obj] = []
        left = list(self.active_pods)
        if self.indexed:
            by_index: dict[int, list[Obj]] = {}
            left = []
            for pod in self.active_pods:
                ix = ju.valid_index(pod, self.completions or 0)
                if ix is None:
                    remove.append(pod)
                else:
                    by_index.setdefault(ix, []).append(pod)
            now = self.now
            for group in by_index.values():
                if len(group) > 1:
                    ranked = pods_to_delete(group, group, len(group), now)
                    remove.extend(ranked[:-1])
                    left.append(ranked[-1])
                else:
                    left.extend(group)
        if len(remove) < count:
            remove.extend(pods_to_delete(left, left, count - len(remove), self.now))
        return remove

    async def _manage(self) -> tuple[int, BaseException | None]:
        ctl = self.ctl
        active = len(self.active_pods)
        if self.suspended:
            doomed = self._pods_for_removal(active)
            ctl.expectations.expect_deletions(self.key, [object_key(p) for p in doomed])
            removed_ready, removed, error = await self._delete_job_pods(doomed)
            self.terminating += removed
            self.ready -= removed_ready
            return active - removed, error
        wanted = ju.wanted_active(self.completions, self.parallelism, self.succeeded, active)
        doomed = self._pods_for_removal(max(0, active - wanted))[:ju.MAX_CREATE_DELETE_PER_SYNC]
        if doomed:
            ctl.expectations.expect_deletions(self.key, [object_key(p) for p in doomed])
            removed_ready, removed, error = await self._delete_job_pods(doomed)
            self.terminating += removed
            self.ready -= removed_ready
            return active - removed, error
        terminating = self.terminating if self.only_replace_failed else 0
        diff = wanted - terminating - active
        if diff <= 0:
            return active, None
        remaining = ju.backoff_remaining(self.new_backoff, self.now)
        if remaining > 0:
            ctl.queue.add_after(self.key, max(remaining, SYNC_BATCH_PERIOD))
            return active, None
        diff = min(diff, ju.MAX_CREATE_DELETE_PER_SYNC)
        indexes: list[int | None] = [None] * diff
        if self.indexed:
            held = [ix for p in self.active_pods if (ix := ju.valid_index(p, self.completions or 0)) is not None]
            indexes = list(ju.first_pending_indexes(self.succeeded_indexes, held, diff, self.completions or 0))
            diff = len(indexes)
            if not diff:
                return active, None
        return await self._create(active, indexes)

    def _pod_for(self, index: int | None) -> Obj:
        job = self.job
        template = json_copy(self.spec.get("template") or {})
        meta = template.get("metadata") or {}
        pod_spec = template.get("spec") or {}
        pod_meta: Obj = {"generateName": job["metadata"]["name"] + "-", "namespace": job["metadata"]["namespace"],
                         "ownerReferences": [owner_reference(job)]}
        for field in ("labels", "annotations"):
            if meta.get(field):
                pod_meta[field] = dict(meta[field])
        finalizers = list(meta.get("finalizers") or [])
        if ju.TRACKING_FINALIZER not in finalizers:
            finalizers.append(ju.TRACKING_FINALIZER)
        pod_meta["finalizers"] = finalizers
        if index is not None:
            ju.add_index_env(pod_spec)
            pod_meta.setdefault("annotations", {})[ju.COMPLETION_INDEX] = str(index)
            pod_meta.setdefault("labels", {})[ju.COMPLETION_INDEX] = str(index)
            pod_spec["hostname"] = f"{job['metadata']['name']}-{index}"
            pod_meta["generateName"] = ju.indexed_generate_name(job["metadata"]["name"], index)
        return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}

    async def _create(self, active: int, indexes: list[int | None]) -> tuple[int, BaseException | None]:
        ctl = self.ctl
        total = len(indexes)
        ctl.expectations.expect_creations(self.key, total)
        sent = 0
        for batch in slow_start_batches(total):
            chunk, indexes = indexes[:batch], indexes[batch:]
            results = await asyncio.gather(*(ctl.client.create(PODS, self._pod_for(ix)) for ix in chunk),
                                           return_exceptions=True)
            sent += batch
            failures = [r for r in results if isinstance(r, BaseException)]
            for created in results:
                if not isinstance(created, BaseException):
                    active += 1
                    ctl.recorder.event(self.job, "Normal", "SuccessfulCreate",
                                       f"Created pod: {created['metadata']['name']}")
            if failures:
                ctl.expectations.creations_skipped(self.key, len(failures) + total - sent)
                first = failures[0]
                message = first.message if isinstance(first, StatusError) else str(first)
                ctl.recorder.event(self.job, "Warning", "FailedCreate", f"Error creating: {message}")
                return active, first
        return active, None

    # ------------------------------------------------------------------ tracking

    def _can_remove_finalizer(self, pod: Obj, failed: bool) -> bool:
        if self.job["metadata"].get("deletionTimestamp") or self.finished is not None or \
                ju.phase(pod) == "Succeeded":
            return True
        return failed

    def _clean_uncounted(self, with_finalizer: set[str]) -> bool:
        """Move UIDs whose finalizer is gone from uncountedTerminatedPods into the counters."""
        uncounted = self.status["uncountedTerminatedPods"]
        changed = False
        for bucket in ("succeeded", "failed"):
            uids = uncounted.get(bucket) or []
            keep = [u for u in uids if u in with_finalizer]
            if len(keep) != len(uids):
                changed = True
                self.status[bucket] = int(self.status.get(bucket) or 0) + len(uids) - len(keep)
                if keep:
                    uncounted[bucket] = keep
                else:
                    uncounted.pop(bucket, None)
        return changed

    async def _track_and_remove_finalizers(self, needs_flush: bool) -> None:
        status = self.status
        uncounted = status["uncountedTerminatedPods"]
        pods = self.pods
        if self.indexed:
            pods = sorted(pods, key=lambda p: (ju.completion_index(p) is None, ju.completion_index(p) or 0))
        with_finalizer = {p["metadata"]["uid"] for p in pods
                          if ju.has_finalizer(p) and p["metadata"]["uid"] not in self.expected_rm}
        if self._clean_uncounted(with_finalizer):
            needs_flush = True
        to_remove: list[Obj] = []
        new_indexes: list[int] = []
        reached_max = False
        finished_failing = self.finished is not None and self.finished.get("type") != ju.SUCCESS_CRITERIA_MET
        for pod in pods:
            uid = pod["metadata"]["uid"]
            if not ju.has_finalizer(pod) or uid in self.expected_rm:
                continue
            failed = self.pod_failed(pod)
            if not self._can_remove_finalizer(pod, failed):
                continue
            to_remove.append(pod)
            if ju.phase(pod) == "Succeeded" and uid not in self.uncounted_failed:
                if self.indexed:
                    ix = ju.valid_index(pod, self.completions or 0)
                    if ix is not None and ix not in self.prev_indexes:
                        new_indexes.append(ix)
                        needs_flush = True
                elif uid not in (uncounted.get("succeeded") or []):
                    uncounted.setdefault("succeeded", []).append(uid)
                    needs_flush = True
            elif failed or finished_failing:
                if uid not in (uncounted.get("failed") or []) and self._valid_index(pod):
                    if ju.match_pod_failure_policy(self.policy, pod)[1]:
                        uncounted.setdefault("failed", []).append(uid)
                        needs_flush = True
            if len(new_indexes) + len(uncounted.get("succeeded") or []) + len(uncounted.get("failed") or []) \
                    >= ju.MAX_UNCOUNTED_PODS:
                reached_max = True
                break
        if self.indexed:
            self.succeeded_indexes |= set(new_indexes)
            text = ju.format_indexes(self.succeeded_indexes)
            if text != (status.get("completedIndexes") or ""):
                needs_flush = True
            status["succeeded"] = len(self.succeeded_indexes)
            status["completedIndexes"] = text
        if self.finished is not None and self.finished.get("type") == ju.FAILURE_TARGET:
            status["conditions"] = (status.get("conditions") or []) + [self.finished]
            needs_flush = True
            self.finished = ju.new_condition(ju.FAILED, "True", self.finished["reason"], self.finished["message"],
                                             self.now)
        if self.finished is not None and self.finished.get("type") == ju.SUCCESS_CRITERIA_MET:
            if ju.find_condition(status.get("conditions"), ju.SUCCESS_CRITERIA_MET) is None:
                status["conditions"] = (status.get("conditions") or []) + [self.finished]
                needs_flush = True
            self.finished = ju.new_condition(ju.COMPLETE, "True", self.finished.get("reason", ""),
                                             self.finished.get("message", ""), self.now)
        needs_flush = await self._flush_and_remove(to_remove, with_finalizer, needs_flush)
        finished = not reached_max and self._enact_finished()
        if finished:
            needs_flush = True
        if needs_flush:
            self.job = await self._update_status()
            if finished:
                self._record_finished()

    async def _update_status(self) -> Obj:
        self._normalize_status()
        return await self.ctl.client.update_status(JOBS, self.job)

    def _normalize_status(self) -> None:
        status = self.job.setdefault("status", self.status)
        if status is not self.status:
            self.job["status"] = self.status
        for name in ("active", "succeeded", "failed"):  # omitempty counters
            if not self.status.get(name):
                self.status.pop(name, None)

    async def _flush_and_remove(self, to_remove: list[Obj], with_finalizer: set[str], needs_flush: bool) -> bool:
        ctl = self.ctl
        if needs_flush:
            written = await self._update_status()
            self._adopt_written(written)
            ctl.backoff[self.key] = self.new_backoff
            needs_flush = False
        error: BaseException | None = None
        if to_remove:
            uids = [p["metadata"]["uid"] for p in to_remove]
            ctl.finalizer_expectations.setdefault(self.key, set()).update(uids)
            results = await asyncio.gather(*(ctl._remove_finalizer(p) for p in to_remove), return_exceptions=True)
            for pod, result in zip(to_remove, results):
                uid = pod["metadata"]["uid"]
                if isinstance(result, BaseException):
                    ctl._finalizer_observed(self.key, uid)
                    if isinstance(result, StatusError) and result.code == 404:
                        with_finalizer.discard(uid)
                    else:
                        error = result
                    continue
                with_finalizer.discard(uid)
        if self._clean_uncounted(with_finalizer):
            needs_flush = True
        if error is not None:
            if needs_flush:
                written = await self._update_status()
                self._adopt_written(written)
            raise error
        return needs_flush

    def _adopt_written(self, written: Obj) -> None:
        """Continue from what the server stored (its resourceVersion is the next precondition)."""
        self.job = written
        status = written.setdefault("status", {})
        status.setdefault("uncountedTerminatedPods", {})
        self.status = status

    def _enact_finished(self) -> bool:
        if self.finished is None:
            return False
        uncounted = self.status.get("uncountedTerminatedPods") or {}
        if uncounted.get("succeeded") or uncounted.get("failed"):
            return False
        if self.terminating > 0:
            return False
        cond = self.finished
        self.status["conditions"], _ = ju.ensure_condition(self.status.get("conditions") or [], cond["type"],
                                                           cond["status"], cond.get("reason", ""),
                                                           cond.get("message", ""), self.now)
        if cond["type"] == ju.COMPLETE:
            self.status["completionTime"] = ju.format_time_s(self.now)
        return True

    def _record_finished(self) -> None:
        recorder, job, cond = self.ctl.recorder, self.job, self.finished or {}
        if cond.get("type") == ju.COMPLETE:
            succeeded = int((job.get("status") or {}).get("succeeded") or 0)
            if self.completions is not None and succeeded > self.completions:
                recorder.event(job, "Warning", "TooManySucceededPods",
                               "Too many succeeded pods running after completion count reached")
            recorder.event(job, "Normal", "Completed", "Job completed")
        else:
            recorder.event(job, "Warning", cond.get("reason", ""), cond.get("message", ""))


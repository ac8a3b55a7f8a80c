"""CronJobs: create a Job from `spec.jobTemplate` at every scheduled time (upstream's ControllerV2).

The client-go shape: informer handlers enqueue CronJob keys; `sync` re-reads the caches,
reconciles `status.active` with the Jobs the CronJob controls (finished ones leave it, missing
ones are dropped), deletes finished Jobs beyond the history limits, and, unless suspended,
starts the most recent unmet scheduled time: named `<cronjob>-<minutes since the epoch>` so a
time is never started twice, subject to startingDeadlineSeconds and concurrencyPolicy. Every
sync ends by requeueing the key for the next scheduled time (`add_after` in cluster seconds),
so nothing polls. The schedule arithmetic is `cronschedule.py`. Jobs finish when their Complete
or Failed condition is True, whoever sets it (the Job controller, or a test through the API).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from tinykube.client.api import Client, Obj, object_key, resource
from tinykube.client.events import EventRecorder
from tinykube.client.informer import EventHandler, InformerFactory, by_controller_uid, by_namespace
from tinykube.client.workqueue import WorkQueue, run_term
from tinykube.clock import format_time, parse_time
from tinykube.controllers import cronschedule
from tinykube.controllers.cronschedule import Schedule, ScheduleError
from tinykube.controllers.replicaset import controller_ref, owner_reference
from tinykube.machinery.errors import StatusError
from tinykube.machinery.jsoncopy import json_copy

log = logging.getLogger(__name__)

CRONJOBS = resource("batch/v1", "cronjobs")
JOBS = resource("batch/v1", "jobs")
SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
WORKERS = 5  # kube-controller-manager's --concurrent-cron-job-syncs


def finished_condition(job: Obj) -> str | None:
    """"Complete" or "Failed" when that condition is True (the job is finished), else None."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond["type"]
    return None


def job_reference(job: Obj) -> Obj:
    """The ObjectReference status.active holds (ref.GetReference of the created Job)."""
    meta = job["metadata"]
    return {"kind": "Job", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
            "apiVersion": "batch/v1", "resourceVersion": meta.get("resourceVersion", "")}


def job_from_template(cronjob: Obj, scheduled: datetime) -> Obj:
    """getJobFromTemplate2: the template's labels, annotations and spec, the deterministic
    name, the scheduled-timestamp annotation and a controller reference to the CronJob."""
    spec = cronjob.get("spec") or {}
    template = spec.get("jobTemplate") or {}
    template_meta = template.get("metadata") or {}
    annotations = dict(template_meta.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = cronschedule.scheduled_timestamp(scheduled, spec.get("timeZone"))
    meta: Obj = {"name": cronschedule.job_name(cronjob["metadata"]["name"], scheduled),
                 "namespace": cronjob["metadata"]["namespace"],
                 "annotations": annotations,
                 "ownerReferences": [owner_reference(dict(cronjob, apiVersion="batch/v1", kind="CronJob"))]}
    if template_meta.get("labels"):
        meta["labels"] = dict(template_meta["labels"])
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": json_copy(template.get("spec") or {})}


def by_job_start(job: Obj) -> tuple[int, str, str]:
    """byJobStartTime: started jobs oldest first, then never-started ones; names break ties."""
    start = (job.get("status") or {}).get("startTime")
    return (0, start, job["metadata"]["name"]) if start else (1, "", job["metadata"]["name"])


class CronJobController:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory) -> None:
        self.client = client
        self.clock = clock
        self.recorder = EventRecorder(client, clock, "cronjob-controller")
        self.cronjobs = informers.informer(CRONJOBS, {"namespace": by_namespace})
        self.jobs = informers.informer(JOBS, {"namespace": by_namespace, "controller": by_controller_uid})
        self.queue: WorkQueue[str] = WorkQueue(clock, name="cronjob")
        self.cronjobs.add_handler(EventHandler(self._cronjob_added, self._cronjob_updated, self._cronjob_added))
        self.jobs.add_handler(EventHandler(self._job_added, self._job_updated, self._job_deleted))

    # ------------------------------------------------------------------ handlers

    def _cronjob_added(self, cronjob: Obj) -> None:
        self.queue.add(object_key(cronjob))

    def _cronjob_updated(self, old: Obj, new: Obj) -> None:
        old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
        if (old_spec.get("schedule"), old_spec.get("timeZone")) != (new_spec.get("schedule"), new_spec.get("timeZone")):
            # a new schedule: look again at its next time (a sooner one replaces the queued wake-up)
            try:
                delay = self._requeue_after(new, Schedule.parse(new_spec.get("schedule") or "",
                                                                new_spec.get("timeZone")))
            except ScheduleError:
                self.recorder.event(new, "Warning", "UnParseableCronJobSchedule",
                                    f"unparseable schedule for cronjob: {new_spec.get('schedule')}")
                return
            self.queue.add_after(object_key(new), delay)
            return
        self.queue.add(object_key(new))

    def _owner_key(self, job: Obj) -> str | None:
        ref = controller_ref(job)
        if ref is None or ref.get("kind") != "CronJob":
            return None
        key = f"{job['metadata']['namespace']}/{ref.get('name')}"
        owner = self.cronjobs.cache.get(key)
        return key if owner is not None and owner["metadata"].get("uid") == ref.get("uid") else None

    def _job_added(self, job: Obj) -> None:
        if (key := self._owner_key(job)) is not None:
            self.queue.add(key)

    def _job_updated(self, old: Obj, job: Obj) -> None:
        if old["metadata"].get("resourceVersion") == job["metadata"].get("resourceVersion"):
            return
        if controller_ref(old) != controller_ref(job) and (key := self._owner_key(old)) is not None:
            self.queue.add(key)
        if (key := self._owner_key(job)) is not None:
            self.queue.add(key)

    def _job_deleted(self, job: Obj) -> None:
        if (key := self._owner_key(job)) is not None:
            self.queue.add(key)

    # ------------------------------------------------------------------ sync

    async def run(self) -> None:
        """Sync while leading; each term starts from a fresh queue holding every CronJob."""
        self.queue = WorkQueue(self.clock, name="cronjob")
        await run_term(self.queue, self.sync, WORKERS, log, informers=(self.cronjobs, self.jobs),
                       keys=lambda: map(object_key, self.cronjobs.cache.list()), companions=[self.recorder.run()])

    def _jobs_of(self, cronjob: Obj) -> list[Obj]:
        """The Jobs this CronJob controls (by controller uid; their labels do not matter)."""
        return [job for job in self.jobs.cache.by_index("controller", cronjob["metadata"]["uid"])
                if (controller_ref(job) or {}).get("kind") == "CronJob"]

    async def sync(self, key: str) -> None:
        cached = self.cronjobs.cache.get(key)
        if cached is None:
            return
        cronjob = json_copy(cached)
        jobs = self._jobs_of(cronjob)
        changed = await self._cleanup_finished_jobs(cronjob, jobs)
        error: Exception | None = None
        requeue: float | None = None
        try:
            requeue, synced_changes, cronjob = await self._sync_cronjob(cronjob, jobs)
            changed = changed or synced_changes
        except Exception as exc:  # write the status we have, then retry with backoff
            error = exc
        if changed:
            try:
                await self.client.update_status(CRONJOBS, cronjob)
            except StatusError as exc:
                if exc.code == 404:
                    return
                raise
        if error is not None:
            raise error
        if requeue is not None:
            self.queue.add_after(key, requeue)

    def _requeue_after(self, cronjob: Obj, schedule: Schedule) -> float:
        created, last = self._window(cronjob)
        return cronschedule.requeue_after(schedule, created, last, self.clock.now())

    @staticmethod
    def _window(cronjob: Obj) -> tuple[datetime, datetime | None]:
        created = parse_time(cronjob["metadata"]["creationTimestamp"])
        last = (cronjob.get("status") or {}).get("lastScheduleTime")
        return created, parse_time(last) if last else None

    async def _sync_cronjob(self, cronjob: Obj, jobs: list[Obj]) -> tuple[float | None, bool, Obj]:
        """syncCronJob: returns (seconds until the next look or None, status changed, the cronjob)."""
        changed = False
        status = cronjob.setdefault("status", {})
        children = set()
        for job in jobs:
            uid = job["metadata"]["uid"]
            children.add(uid)
            active = any(ref.get("uid") == uid for ref in status.get("active") or [])
            condition = finished_condition(job)
            if not active and condition is None:
                # maybe our cache is older than our own last status write: ask the API
                fresh = await self.client.get(CRONJOBS, cronjob["metadata"]["name"], cronjob["metadata"]["namespace"])
                if any(ref.get("uid") == uid for ref in (fresh.get("status") or {}).get("active") or []):
                    cronjob, status = fresh, fresh.setdefault("status", {})
                    continue
                self.recorder.event(cronjob, "Warning", "UnexpectedJob",
                                    f"Saw a job that the controller did not create or forgot: {job['metadata']['name']}")
            elif active and condition is not None:
                self._remove_active(status, uid)
                self.recorder.event(cronjob, "Normal", "SawCompletedJob",
                                    f"Saw completed job: {job['metadata']['name']}, condition: {condition}")
                changed = True
            if condition == "Complete":
                # finished jobs need not be active ones: any success moves lastSuccessfulTime on
                done = (job.get("status") or {}).get("completionTime")
                if done and (not status.get("lastSuccessfulTime")
                             or parse_time(done) > parse_time(status["lastSuccessfulTime"])):
                    status["lastSuccessfulTime"] = done
                    changed = True
        # an active job that no longer exists must not keep the CronJob active forever
        for ref in list(status.get("active") or []):
            if ref.get("uid") in children:
                continue
            try:
                await self.client.get(JOBS, ref.get("name", ""), ref.get("namespace") or cronjob["metadata"]["namespace"])
            except StatusError as exc:
                if exc.code != 404:
                    raise
                self.recorder.event(cronjob, "Normal", "MissingJob", f"Active job went missing: {ref.get('name')}")
                self._remove_active(status, ref.get("uid"))
                changed = True
        if cronjob["metadata"].get("deletionTimestamp"):
            return None, changed, cronjob

        spec = cronjob.get("spec") or {}
        zone_name = spec.get("timeZone")
        if zone_name is not None:
            try:
                cronschedule.load_zone(zone_name)
            except ScheduleError as exc:
                self.recorder.event(cronjob, "Warning", "UnknownTimeZone", f'invalid timeZone: "{zone_name}": {exc}')
                return None, changed, cronjob
        if spec.get("suspend"):
            return None, changed, cronjob
        schedule_text = spec.get("schedule") or ""
        if "TZ" in schedule_text:
            self.recorder.event(cronjob, "Warning", "UnsupportedSchedule",
                                f'CRON_TZ or TZ used in schedule "{schedule_text}" is not officially supported, '
                                "see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details")
        try:
            schedule = Schedule.parse(schedule_text, zone_name)
        except ScheduleError as exc:
            self.recorder.event(cronjob, "Warning", "UnparseableSchedule",
                                f'unparseable schedule: "{schedule_text}" : {exc}')
            return None, changed, cronjob

        now = self.clock.now()
        created, last = self._window(cronjob)
        deadline = spec.get("startingDeadlineSeconds")
        try:
            scheduled, too_many = cronschedule.next_schedule_time(schedule, created, last, now, deadline)
        except ScheduleError as exc:
            self.recorder.event(cronjob, "Warning", "InvalidSchedule", f"invalid schedule: {schedule_text} : {exc}")
            return None, changed, cronjob
        if too_many:
            self.recorder.event(cronjob, "Warning", "TooManyMissedTimes",
                                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds "
                                "or check clock skew")
        requeue = cronschedule.requeue_after(schedule, created, last, now)
        if scheduled is None:
            return requeue, changed, cronjob  # nothing due: wake up at the next start
        if deadline is not None and (now - scheduled).total_seconds() > deadline:
            self.recorder.event(cronjob, "Warning", "MissSchedule",
                                f"Missed scheduled time to start a job: {cronschedule.rfc1123z(scheduled)}")
            return requeue, changed, cronjob
        name = cronschedule.job_name(cronjob["metadata"]["name"], scheduled)
        if (any(ref.get("name") == name for ref in status.get("active") or [])
                or (last is not None and last == scheduled)):
            return requeue, changed, cronjob  # this time was already started
        policy = spec.get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and status.get("active"):
            self.recorder.event(cronjob, "Normal", "JobAlreadyActive",
                                "Not starting job because prior execution is running and concurrency policy is Forbid")
            return requeue, changed, cronjob
        if policy == "Replace":
            for ref in list(status.get("active") or []):
                try:
                    job = await self.client.get(JOBS, ref.get("name", ""), ref.get("namespace") or "")
                except StatusError as exc:
                    self.recorder.event(cronjob, "Warning", "FailedGet", f"Get job: {exc.message}")
                    raise
                if not await self._delete_job(cronjob, job):
                    raise RuntimeError(f"could not replace job {job['metadata']['namespace']}/{job['metadata']['name']}")
                changed = True

        wanted = job_from_template(cronjob, scheduled)
        try:
            created_job = await self.client.create(JOBS, wanted, cronjob["metadata"]["namespace"])
            self.recorder.event(cronjob, "Normal", "SuccessfulCreate", f"Created job {created_job['metadata']['name']}")
        except StatusError as exc:
            if exc.code == 409 and exc.reason == "AlreadyExists":
                # created before, but the status write that should have followed was lost?
                created_job = await self.client.get(JOBS, name, cronjob["metadata"]["namespace"])
                ref = controller_ref(created_job) or {}
                if ref.get("uid") != cronjob["metadata"]["uid"]:
                    return requeue, changed, cronjob  # someone else's job: leave it alone
                if any(r.get("uid") == created_job["metadata"]["uid"] for r in status.get("active") or []):
                    return requeue, changed, cronjob
            else:
                if not _namespace_terminating(exc):
                    self.recorder.event(cronjob, "Warning", "FailedCreate", f"Error creating job: {exc.message}")
                raise
        status.setdefault("active", []).append(job_reference(created_job))
        status["lastScheduleTime"] = format_time(scheduled)
        return cronschedule.requeue_after(schedule, created, scheduled, now), True, cronjob

    @staticmethod
    def _remove_active(status: Obj, uid: str | None) -> None:
        remaining = [ref for ref in status.get("active") or [] if ref.get("uid") != uid]
        if remaining:
            status["active"] = remaining
        else:
            status.pop("active", None)

    async def _delete_job(self, cronjob: Obj, job: Obj) -> bool:
        """deleteJob: delete (background propagation) and forget it as active."""
        meta = job["metadata"]
        try:
            await self.client.delete(JOBS, meta["name"], meta["namespace"], propagation_policy="Background")
        except StatusError as exc:
            self.recorder.event(cronjob, "Warning", "FailedDelete", f"Deleted job: {exc.message}")
            return False
        self._remove_active(cronjob.setdefault("status", {}), meta["uid"])
        self.recorder.event(cronjob, "Normal", "SuccessfulDelete", f"Deleted job {meta['name']}")
        return True

    async def _cleanup_finished_jobs(self, cronjob: Obj, jobs: list[Obj]) -> bool:
        """Delete the oldest finished jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit."""
        spec = cronjob.get("spec") or {}
        changed = False
        for condition, limit in (("Complete", spec.get("successfulJobsHistoryLimit")),
                                 ("Failed", spec.get("failedJobsHistoryLimit"))):
            if limit is None:
                continue
            finished = sorted((j for j in jobs if finished_condition(j) == condition and
                               not j["metadata"].get("deletionTimestamp")), key=by_job_start)
            for job in finished[:max(0, len(finished) - int(limit))]:
                if await self._delete_job(cronjob, job):
                    changed = True
        return changed


def _namespace_terminating(exc: StatusError) -> bool:
    causes = ((exc.details or {}).get("causes") or [])
    return any(c.get("reason") == "NamespaceTerminating" for c in causes)


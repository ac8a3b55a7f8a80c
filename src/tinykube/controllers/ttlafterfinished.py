"""ttlSecondsAfterFinished: delete a finished Job (and, in the background, its pods) that long
after it got its Complete or Failed condition (upstream's ttl-after-finished controller)."""

from __future__ import annotations

import logging
from typing import Any

from tinykube.client.api import Client, Obj, object_key, split_key
from tinykube.client.informer import EventHandler, InformerFactory
from tinykube.client.workqueue import WorkQueue, run_workers
from tinykube.controllers import jobutil as ju
from tinykube.controllers.job import JOBS
from tinykube.machinery.errors import StatusError

log = logging.getLogger(__name__)


def expires_in(job: Obj, now: float) -> float | None:
    """Seconds until a finished Job with a TTL may be deleted (<= 0: now); None when it never expires."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    if ttl is None or job["metadata"].get("deletionTimestamp") or not ju.is_finished(job):
        return None
    finished = ju.finished_at(job)
    if finished is None:
        return None
    return finished + int(ttl) - now


class TTLAfterFinishedController:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory) -> None:
        self.client = client
        self.clock = clock
        self.jobs = informers.informer(JOBS)
        self.queue: WorkQueue[str] = WorkQueue(clock, name="ttl_jobs_to_delete")
        self.jobs.add_handler(EventHandler(self._changed, lambda old, new: self._changed(new), None))

    def _changed(self, job: Obj) -> None:
        if expires_in(job, self.clock.time()) is not None:
            self.queue.add(object_key(job))

    async def run(self) -> None:
        await self.jobs.wait_synced()
        self.queue = WorkQueue(self.clock, name="ttl_jobs_to_delete")
        for job in self.jobs.cache.list():
            self._changed(job)
        await run_workers(self.queue, self.sync, 2, log)

    async def sync(self, key: str) -> None:
        job = self.jobs.cache.get(key)
        if job is None:
            return
        left = expires_in(job, self.clock.time())
        if left is None:
            return
        if left > 0:
            self.queue.add_after(key, left)
            return
        namespace, name = split_key(key)
        try:
            fresh = await self.client.get(JOBS, name, namespace)  # the TTL may just have changed
            left = expires_in(fresh, self.clock.time())
            if left is None:
                return
            if left > 0:
                self.queue.add_after(key, left)
                return
            await self.client.delete(JOBS, name, namespace, propagation_policy="Background",
                                     uid=fresh["metadata"].get("uid", ""),
                                     resource_version=fresh["metadata"].get("resourceVersion", ""))
        except StatusError as exc:
            if exc.code == 409:
                self.queue.add_rate_limited(key)
            elif exc.code != 404:
                raise

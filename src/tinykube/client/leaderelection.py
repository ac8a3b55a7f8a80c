"""Leader election on coordination.k8s.io Leases, so several servers can share one store.

The client-go protocol: a candidate takes the Lease when nobody holds it or the holder has not
renewed it for `lease_duration` (measured on our own clock from when we last saw the record
change, so clocks of different hosts never need to agree), renews it every `retry_period`,
and stops leading if it cannot renew within `renew_deadline`. Writes are compare-and-swap on
the Lease's resourceVersion, so two candidates can never both win. On a clean stop the
leader releases the Lease so a successor need not wait for it to expire.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from tinykube.client.api import LEASES, Client, Obj
from tinykube.machinery.errors import StatusError

log = logging.getLogger(__name__)


class LeaderElector:
    def __init__(self, client: Client, clock: Any, name: str, identity: str, namespace: str = "kube-system",
                 lease_duration: float = 15.0, renew_deadline: float = 10.0, retry_period: float = 2.0) -> None:
        if not renew_deadline < lease_duration:
            raise ValueError("renew_deadline must be shorter than lease_duration")
        self.client = client
        self.clock = clock
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.is_leader = False
        self._observed: Obj | None = None  # the lease spec as last read
        self._observed_at = 0.0  # our monotonic time when it last changed

    async def run(self, lead: Callable[[], Awaitable[None]]) -> None:
        """Campaign, run `lead()` while leading, and campaign again after losing the lease."""
        try:
            while True:
                await self._acquire()
                task = asyncio.create_task(lead(), name=f"leading-{self.name}")
                try:
                    await self._keep_renewing(task)
                finally:
                    self.is_leader = False
                    if not task.done():
                        task.cancel()
                    try:
                        await task
                    except asyncio.CancelledError:
                        pass
                    except Exception:
                        log.exception("%s: the work led under %s/%s failed", self.identity, self.namespace, self.name)
                log.warning("%s stopped leading %s/%s", self.identity, self.namespace, self.name)
                await self.clock.sleep(self.retry_period)  # never spin: campaign again after a pause
        finally:
            if self.is_leader or (self._observed or {}).get("holderIdentity") == self.identity:
                await asyncio.shield(self._release())

    async def _acquire(self) -> None:
        while True:
            try:
                if await self.try_acquire_or_renew():
                    break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed attempt is retried, never fatal
                log.warning("%s: acquiring %s/%s: %s", self.identity, self.namespace, self.name, exc)
            await self.clock.sleep(self.retry_period)
        self.is_leader = True
        log.info("%s became leader of %s/%s", self.identity, self.namespace, self.name)

    async def _keep_renewing(self, task: asyncio.Task[None]) -> None:
        last_renewal = self.clock.monotonic()
        while not task.done():
            pause = asyncio.create_task(self.clock.sleep(self.retry_period))
            await asyncio.wait({task, pause}, return_when=asyncio.FIRST_COMPLETED)
            pause.cancel()
            if task.done():
                return
            try:
                renewed = await self.try_acquire_or_renew()
            except Exception as exc:
                log.warning("renewing lease %s: %s", self.name, exc)
                renewed = False
            if renewed:
                last_renewal = self.clock.monotonic()
            elif self._held_by_another() or self.clock.monotonic() - last_renewal >= self.renew_deadline:
                return

    def _held_by_another(self) -> bool:
        return (self._observed or {}).get("holderIdentity") not in (None, "", self.identity)

    async def try_acquire_or_renew(self) -> bool:
        """One attempt; True when we hold the lease afterwards."""
        now = self.clock.rfc3339_micro()
        try:
            lease = await self.client.get(LEASES, self.name, self.namespace)
        except StatusError as exc:
            if exc.code != 404:
                raise
            spec = self._spec(now, now, 0)
            try:
                await self.client.create(LEASES, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                                  "metadata": {"name": self.name, "namespace": self.namespace},
                                                  "spec": spec}, self.namespace)
            except StatusError as create_exc:
                if create_exc.code == 409:
                    return False
                raise
            self._observe(spec)
            return True
        spec = lease.get("spec") or {}
        if spec != self._observed:
            self._observe(spec)
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
        if holder and holder != self.identity and self.clock.monotonic() - self._observed_at < duration:
            return False
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder == self.identity:
            new_spec = self._spec(spec.get("acquireTime") or now, now, transitions)
        else:
            new_spec = self._spec(now, now, transitions + 1)
        updated = dict(lease, spec=new_spec)
        try:
            await self.client.update(LEASES, updated)
        except StatusError as exc:
            if exc.code in (404, 409):
                return False
            raise
        self._observe(new_spec)
        return True

    def _spec(self, acquired: str, renewed: str, transitions: int) -> Obj:
        return {"holderIdentity": self.identity, "leaseDurationSeconds": int(self.lease_duration),
                "acquireTime": acquired, "renewTime": renewed, "leaseTransitions": transitions}

    def _observe(self, spec: Obj) -> None:
        self._observed = spec
        self._observed_at = self.clock.monotonic()

    async def _release(self) -> None:
        """Hand the lease back: empty holder, so the next candidate takes it at once."""
        try:
            lease = await self.client.get(LEASES, self.name, self.namespace)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            now = self.clock.rfc3339_micro()
            released = dict(spec, holderIdentity="", leaseDurationSeconds=1, renewTime=now, acquireTime=now)
            await self.client.update(LEASES, dict(lease, spec=released))
        except Exception as exc:
            log.debug("releasing lease %s: %s", self.name, exc)
        finally:
            self.is_leader = False

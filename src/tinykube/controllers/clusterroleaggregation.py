"""The clusterrole-aggregation controller: a ClusterRole with an aggregationRule holds the union
of the rules of every ClusterRole its selectors match (admin, edit and view are built so)."""

from __future__ import annotations

import logging
from typing import Any, Iterable

from tinykube.client.api import Client, Obj, resource
from tinykube.client.informer import EventHandler, InformerFactory
from tinykube.client.workqueue import WorkQueue, retry_stale, run_term
from tinykube.machinery.errors import StatusError
from tinykube.machinery.selectors import SelectorError, label_selector_from_object

log = logging.getLogger(__name__)
CLUSTER_ROLES = resource("rbac.authorization.k8s.io/v1", "clusterroles")


def aggregated_rules(role: Obj, roles: Iterable[Obj]) -> list[Obj] | None:
    """The rules `role` should hold: each matching role's rules in name order, without repeats;
    None when `role` does not aggregate."""
    rule = role.get("aggregationRule")
    if not isinstance(rule, dict):
        return None
    try:
        selectors = [label_selector_from_object(s) for s in rule.get("clusterRoleSelectors") or []]
    except SelectorError:
        return None
    name = role["metadata"]["name"]
    out: list[Obj] = []
    for other in sorted(roles, key=lambda r: r["metadata"]["name"]):
        if other["metadata"]["name"] == name:
            continue
        labels = other["metadata"].get("labels") or {}
        if not any(s.matches(labels) for s in selectors):
            continue
        for policy_rule in other.get("rules") or []:
            if policy_rule not in out:
                out.append(policy_rule)
    return out


class ClusterRoleAggregationController:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory) -> None:
        self.client = client
        self.clock = clock
        self.roles = informers.informer(CLUSTER_ROLES)
        self.queue: WorkQueue[str] = WorkQueue(clock, name="ClusterRoleAggregator")
        self.roles.add_handler(EventHandler(lambda r: self._changed(), lambda o, n: self._changed(),
                                            lambda r: self._changed()))

    def _aggregating(self) -> list[str]:
        return [r["metadata"]["name"] for r in self.roles.cache.list() if r.get("aggregationRule")]

    def _changed(self) -> None:
        for name in self._aggregating():  # any role may be selected by any aggregating role
            self.queue.add(name)

    async def run(self) -> None:
        self.queue = WorkQueue(self.clock, name="ClusterRoleAggregator")
        await run_term(self.queue, self.sync, 1, log, informers=[self.roles], keys=self._aggregating)

    async def sync(self, name: str) -> None:
        role = self.roles.cache.get(name)
        if role is None:
            return
        rules = aggregated_rules(role, self.roles.cache.list())
        if rules is None or rules == (role.get("rules") or []):
            return
        try:
            await self.client.update(CLUSTER_ROLES, {**role, "rules": rules})
        except StatusError as exc:
            retry_stale(self.queue, name, exc)

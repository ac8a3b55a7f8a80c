"""RollingUpdate for DaemonSets: the plan for one sync, as upstream's rollingUpdate.

Without surge, old pods are deleted while fewer than maxUnavailable nodes lack an available
daemon pod, and the manage loop starts the new pod once the old one is gone. With surge, a new
pod starts beside an old one on up to maxSurge nodes, and the old pod goes once the new one
is available. The arithmetic is util.plan_rolling_update; OnDelete never gets here.
"""

from __future__ import annotations

from typing import Callable, Mapping

from tinykube.controllers.daemonset import util

Obj = util.Obj


def rolling_update(ds: Obj, verdicts: Mapping[str, util.Verdict], nodes_to_pods: Mapping[str, list[Obj]],
                   hash_: str, available: Callable[[Obj], bool]) -> util.RollingPlan:
    """Which old pods to delete and on which nodes to surge, within the fenceposts for the
    current number of nodes that should run the daemon."""
    desired = [name for name, verdict in verdicts.items() if verdict.should_run]
    max_surge, max_unavailable = util.fenceposts(ds, len(desired))
    return util.plan_rolling_update(nodes_to_pods, desired, hash_, max_surge, max_unavailable,
                                    lambda name: verdicts.get(name, util.NOT_HERE).should_run, available)

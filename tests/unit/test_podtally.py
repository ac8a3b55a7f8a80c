"""PodTallies against the walk it replaces: after every change, the counts equal a fresh count
over every pod in the cache."""

from __future__ import annotations

import random

import orjson
import pytest

from tinykube.client.api import object_key
from tinykube.client.informer import Cache, by_controller_uid
from tinykube.controllers.podtally import PodTallies, contribution
from tinykube.controllers.podutil import PodFactsMemo
from tinykube.machinery.selectors import label_selector_from_object

OWNERS = ("rs-a", "rs-b")
SELECTOR = {"matchLabels": {"app": "web"}}


def make_pod(name: str, rv: int, owner: str | None, labels: dict[str, str], ready: bool | None,
             phase: str = "Running", deleting: bool = False, ready_at: str = "2026-01-01T00:00:00Z") -> dict:
    meta: dict = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": str(rv), "labels": labels}
    if owner is not None:
        meta["ownerReferences"] = [{"uid": owner, "controller": True, "kind": "ReplicaSet", "name": owner}]
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    status: dict = {"phase": phase}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ready_at}]
    return {"metadata": meta, "status": status}


def walked_counts(cache: Cache, facts: PodFactsMemo, owner: str, template: dict[str, str], min_ready: int,
                  now: float) -> tuple[int, int, int, int, set[str]]:
    """What the sync used to compute by looking at every controlled pod."""
    selector = label_selector_from_object(SELECTOR)
    matching = fully = ready = available = 0
    unmatched: set[str] = set()
    for pod in cache.by_index("controller", owner):
        f = facts.of(pod)
        if not f.active:
            continue
        c = contribution(f, pod["metadata"].get("labels") or {}, selector, template.items(), min_ready, now)
        if not c.matches:
            unmatched.add(object_key(pod))
            continue
        matching += 1
        fully += c.fully_labeled
        ready += c.ready
        available += c.available
    return matching, fully, ready, available, unmatched


def tallied_counts(tallies: PodTallies, owner: str, template: dict[str, str], min_ready: int,
                   now: float) -> tuple[int, int, int, int, set[str]]:
    signature = orjson.dumps([SELECTOR, template, min_ready], option=orjson.OPT_SORT_KEYS)
    t = tallies.refresh(owner, signature, label_selector_from_object(SELECTOR), template, min_ready, now)
    return t.matching, t.fully_labeled, t.ready, t.available, set(t.unmatched)


@pytest.mark.parametrize("seed", range(6))
def test_tally_matches_a_fresh_walk_through_random_changes(seed: int) -> None:
    rng = random.Random(seed)
    cache = Cache({"controller": by_controller_uid})
    facts = PodFactsMemo()
    tallies = PodTallies(cache, facts.of)
    rv = 0
    templates = [{"app": "web"}, {"app": "web", "tier": "front"}]
    for step in range(400):
        rv += 1
        name = f"p{rng.randrange(40)}"
        key = f"ns/{name}"
        old = cache.get(key)
        if old is not None and rng.random() < 0.15:
            cache.remove(key)
            tallies.touched(old)
        else:
            pod = make_pod(name, rv, rng.choice((*OWNERS, None)),
                           rng.choice(({"app": "web"}, {"app": "web", "tier": "front"}, {"app": "db"})),
                           rng.choice((True, False, None)), rng.choice(("Running", "Pending", "Succeeded")),
                           rng.random() < 0.1, rng.choice(("2026-01-01T00:00:00Z", "2026-01-01T00:00:30Z")))
            cache.put(key, pod)
            if old is None:
                tallies.touched(pod)
            else:
                tallies.pod_updated(old, pod)
        if step % 7 == 0:  # a sync of each owner now and then, with the owner's spec varying
            template = templates[(step // 70) % 2]
            min_ready = 0 if step < 200 else 20
            now = 1767225600.0 + step / 4  # 2026-01-01T00:00:00Z onwards: pods become available
            for owner in OWNERS:
                assert tallied_counts(tallies, owner, template, min_ready, now) == \
                    walked_counts(cache, facts, owner, template, min_ready, now), (seed, step, owner)


def test_a_pod_waiting_for_min_ready_seconds_becomes_available_without_an_event() -> None:
    cache = Cache({"controller": by_controller_uid})
    facts = PodFactsMemo()
    tallies = PodTallies(cache, facts.of)
    pod = make_pod("p", 1, "rs-a", {"app": "web"}, True, ready_at="2026-01-01T00:00:00Z")
    cache.put("ns/p", pod)
    start = 1767225600.0
    assert tallied_counts(tallies, "rs-a", {}, 10, start + 5)[2:4] == (1, 0)
    assert tallied_counts(tallies, "rs-a", {}, 10, start + 10)[2:4] == (1, 1)


def test_a_released_pod_leaves_its_old_owners_tally() -> None:
    cache = Cache({"controller": by_controller_uid})
    facts = PodFactsMemo()
    tallies = PodTallies(cache, facts.of)
    owned = make_pod("p", 1, "rs-a", {"app": "db"}, True)
    cache.put("ns/p", owned)
    assert tallied_counts(tallies, "rs-a", {}, 0, 0)[4] == {"ns/p"}
    released = make_pod("p", 2, None, {"app": "db"}, True)
    cache.put("ns/p", released)
    tallies.pod_updated(owned, released)
    assert tallied_counts(tallies, "rs-a", {}, 0, 0) == (0, 0, 0, 0, set())

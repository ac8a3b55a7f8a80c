"""Load proof: N concurrent clients for D seconds of mixed reads, writes and watches over HTTPS
with the bearer token; zero 5xx required.

Run:  .venv/bin/python bench/load_bench.py [--clients 50] [--seconds 60] [--url URL --token T --ca FILE]
Without --url it starts its own `tinykube server` (3 simulated nodes) in a temp dir. Each client
loops over a weighted mix: get/list/create/update(patch)/delete of ConfigMaps in its own
namespace, lists of pods, and short watches. Prints per-verb count, p50/p99 latency, total
throughput, and exits 1 on any 5xx or transport error.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import ssl
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import new_cluster  # noqa: E402

MIX = (("get", 30), ("list", 20), ("create", 15), ("patch", 15), ("delete", 10), ("watch", 5), ("list-pods", 5))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else 0.0


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.codes: dict[int, int] = defaultdict(int)
        self.server_errors: list[str] = []
        self.transport_errors: list[str] = []

    def record(self, verb: str, seconds: float, response: httpx.Response) -> None:
        self.latency[verb].append(seconds)
        self.codes[response.status_code] += 1
        if response.status_code >= 500:
            self.server_errors.append(f"{verb} {response.request.url.path}: {response.status_code} {response.text[:200]}")


async def client_loop(n: int, http: httpx.AsyncClient, stats: Stats, deadline: float, rng: random.Random) -> None:
    ns = f"load-{n}"
    r = await http.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
    if r.status_code not in (201, 409):
        stats.server_errors.append(f"namespace {ns}: {r.status_code}")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    names: list[str] = []
    counter = 0
    verbs = [v for v, _ in MIX]
    weights = [w for _, w in MIX]
    while time.monotonic() < deadline:
        verb = rng.choices(verbs, weights)[0]
        if verb in ("get", "patch", "delete") and not names:
            verb = "create"
        start = time.perf_counter()
        try:
            if verb == "get":
                r = await http.get(f"{base}/{rng.choice(names)}")
            elif verb == "list":
                r = await http.get(base, params={"limit": "50"})
            elif verb == "list-pods":
                r = await http.get("/api/v1/pods", params={"limit": "100"})
            elif verb == "create":
                counter += 1
                name = f"cm-{counter}"
                r = await http.post(base, json={"metadata": {"name": name, "labels": {"client": str(n)}},
                                                "data": {"k": "v" * rng.randint(1, 512)}})
                if r.status_code == 201:
                    names.append(name)
            elif verb == "patch":
                r = await http.patch(f"{base}/{rng.choice(names)}", json={"data": {"k": str(rng.random())}},
                                     headers={"Content-Type": "application/merge-patch+json"})
            elif verb == "delete":
                name = names.pop(rng.randrange(len(names)))
                r = await http.delete(f"{base}/{name}")
            else:
                async with http.stream("GET", base, params={"watch": "true", "timeoutSeconds": "1"}) as r:
                    async for _ in r.aiter_lines():
                        pass
        except httpx.HTTPError as exc:
            stats.transport_errors.append(f"{verb}: {exc!r}")
            continue
        stats.record(verb, time.perf_counter() - start, r)


async def run(url: str, token: str, ca: str, clients: int, seconds: float) -> Stats:
    stats = Stats()
    context = ssl.create_default_context(cafile=ca)
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(base_url=url, verify=context, headers={"Authorization": f"Bearer {token}"},
                                 timeout=60, limits=limits) as http:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(client_loop(n, http, stats, deadline, random.Random(n)) for n in range(clients)))
    return stats


def report(stats: Stats, seconds: float) -> bool:
    total = sum(len(v) for v in stats.latency.values())
    print(f"{'verb':<10} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for verb, _ in MIX:
        values = stats.latency.get(verb, [])
        print(f"{verb:<10} {len(values):>7} {pct(values, 50) * 1000:>8.1f} {pct(values, 99) * 1000:>8.1f}")
    print(f"throughput: {total / seconds:.0f} requests/s over {seconds:.0f} s ({total} requests)")
    print("status codes: " + ", ".join(f"{code}={n}" for code, n in sorted(stats.codes.items())))
    ok = not stats.server_errors and not stats.transport_errors
    print(f"5xx: {len(stats.server_errors)}, transport errors: {len(stats.transport_errors)} -> "
          + ("OK (zero 5xx)" if ok else "FAIL"))
    for line in (stats.server_errors + stats.transport_errors)[:20]:
        print("  " + line)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--ca")
    args = parser.parse_args()
    if args.url:
        stats = asyncio.run(run(args.url, args.token, args.ca, args.clients, args.seconds))
        sys.exit(0 if report(stats, args.seconds) else 1)
    with tempfile.TemporaryDirectory() as tmp:
        cluster = new_cluster(Path(tmp))
        cluster.start(("--sim-nodes", "3"))
        try:
            stats = asyncio.run(run(cluster.url, cluster.token, cluster.ca_file, args.clients, args.seconds))
        finally:
            cluster.stop()
    sys.exit(0 if report(stats, args.seconds) else 1)


if __name__ == "__main__":
    main()

"""Usage arithmetic behind metrics.k8s.io: quantities as metrics-server writes them, simulated usage."""

from __future__ import annotations

import pytest

from tinykube.metrics.processes import ProcessUsage, _Sample, cpu_rate
from tinykube.metrics.usage import Usage, node_usage, simulated_usage


@pytest.mark.parametrize("usage, expect", [
    (Usage(250, 64 * 1024 * 1024), {"cpu": "250000000n", "memory": "65536Ki"}),
    (Usage(0, 0), {"cpu": "0", "memory": "0"}),
    (Usage(0.5, 1000), {"cpu": "500000n", "memory": "1Ki"}),   # memory rounds up to whole KiB
])
def test_as_quantities(usage, expect):
    assert usage.as_quantities() == expect


def pod(phase="Running", annotations=None, states=("running",), node="sim-1"):
    return {"metadata": {"name": "p", "namespace": "ns", "annotations": annotations or {}},
            "spec": {"nodeName": node},
            "status": {"phase": phase, "containerStatuses": [
                {"name": f"c{i}", "state": {s: {}}} for i, s in enumerate(states)]}}


@pytest.mark.parametrize("p, expect", [
    (pod(annotations={"sim.tinykube.io/cpu": "250m", "sim.tinykube.io/memory": "64Mi"}),
     {"c0": Usage(250.0, 67108864)}),
    (pod(annotations={"sim.tinykube.io/cpu": "1"}, states=("running", "waiting")), {"c0": Usage(1000.0, 0)}),
    (pod(), {"c0": Usage(0.0, 0)}),                      # no annotation: measured as idle
    (pod(phase="Pending"), None),                        # nothing runs yet: no metrics
    (pod(states=("terminated",)), None),
])
def test_simulated_usage(p, expect):
    assert simulated_usage(p) == expect


def test_node_usage_sums_its_running_pods():
    pods = [pod(annotations={"sim.tinykube.io/cpu": "100m"}), pod(annotations={"sim.tinykube.io/cpu": "150m"}),
            pod(phase="Pending", annotations={"sim.tinykube.io/cpu": "900m"})]
    assert node_usage(pods, simulated_usage) == Usage(250.0, 0)


@pytest.mark.parametrize("previous, cpu, now, started, expect", [
    (None, 2.0, 110.0, 100.0, 200.0),                       # first sample: average since start
    (_Sample(2.0, 110.0, 200.0), 3.5, 113.0, 100.0, 500.0),  # 1.5 CPU s over 3 s: half a core
    (_Sample(2.0, 110.0, 200.0), 2.1, 110.5, 100.0, 200.0),  # too soon: the last rate again
    (_Sample(2.0, 110.0, 200.0), 1.0, 112.0, 100.0, 0.0),    # a restarted tree never goes negative
])
def test_cpu_rate(previous, cpu, now, started, expect):
    assert cpu_rate(previous, cpu, now, started) == pytest.approx(expect)


def test_process_usage_measures_this_process():
    import os
    from tinykube.clock import Clock
    usage = ProcessUsage(Clock(scale=60).real_time).usage(os.getpid())
    # this test process uses at most the cores there are, whatever the time scale
    assert usage is not None and usage.memory_bytes > 1_000_000
    assert 0 <= usage.cpu_millis <= 1000 * (os.cpu_count() or 1)
    assert ProcessUsage(lambda: 0.0).usage(2**22 + 12345) is None  # no such process

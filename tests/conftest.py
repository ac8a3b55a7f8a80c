from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import Cluster, new_cluster, unique_namespace, wait_namespace_ready  # noqa: E402
from etcd_helpers import EtcdCluster  # noqa: E402


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """One server shared by the tests that do not restart it; each test works in its own namespace."""
    c = new_cluster(tmp_path_factory.mktemp("cluster"))
    c.start()
    yield c
    c.stop()


@pytest.fixture
def fresh_cluster(tmp_path: Path):
    """A server of the test's own, for tests that restart or kill it."""
    c = new_cluster(tmp_path)
    yield c
    if c.process is not None and c.process.poll() is None:
        c.stop()


@pytest.fixture
def ns(cluster: Cluster):
    name = unique_namespace()
    with cluster.http() as c:
        r = c.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        assert r.status_code == 201, r.text
    wait_namespace_ready(cluster, name)
    yield name


@pytest.fixture(scope="session")
def etcd(tmp_path_factory: pytest.TempPathFactory):
    """One real etcd member for the session (fails, never skips, when etcd is not installed)."""
    c = EtcdCluster(tmp_path_factory.mktemp("etcd"), size=1)
    c.start()
    yield c
    c.stop()

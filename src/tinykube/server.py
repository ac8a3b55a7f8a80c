"""`tinykube server`: open the store, bootstrap the cluster, serve the API until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from tinykube.apiserver.app import APIServer
from tinykube import clustersecrets
from tinykube.certs import TLSFiles, ensure_tls
from tinykube.clock import Clock
from tinykube.components import ComponentOptions, Components, server_identity
from tinykube.controllers.namespace import run_namespace_controller
from tinykube.controllers.serviceaccounts import run_serviceaccounts_controller
from tinykube.kubelet.podlogs import PodLogs
from tinykube.jointoken import ca_hash, format_token, parse_token
from tinykube.kubeconfig import load_or_create_token, write_kubeconfig
from tinykube.machinery.errors import StatusError
from tinykube.registry.hooks import kind_hooks
from tinykube.registry.objects import ObjectRegistry, WriteOptions
from tinykube.registry.resources import RESOURCE_INDEX
from tinykube.storage.interface import Store, StoreError
from tinykube.storage.sqlite import SqliteStore

log = logging.getLogger("tinykube")

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
COMPACT_INTERVAL = 60.0  # seconds of cluster time between compactions


@dataclass
class ServerConfig:
    data_dir: Path
    port: int = 6443
    bind_address: str = "127.0.0.1"
    kubeconfig: Path | None = None
    time_scale: float = 1.0
    datastore: str = ""  # etcd://h1:2379,h2:2379 (default: SQLite in DATA_DIR/state.db)
    token: str = ""  # --token: the cluster's join token (or bare secret) to join or to found with
    components: ComponentOptions = field(default_factory=ComponentOptions)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: SIGTERM/SIGINT end `serve` and we exit 0."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield

    def request_exit(self) -> None:
        if self.should_exit:
            self.force_exit = True  # a second Ctrl-C stops without waiting for open streams
        self.should_exit = True


async def bootstrap(registry: ObjectRegistry) -> None:
    """Objects every cluster has from its first start."""
    namespaces = RESOURCE_INDEX.lookup("", "v1", "namespaces")
    assert namespaces is not None
    for name in SYSTEM_NAMESPACES:
        try:
            await registry.create(namespaces, "", {"metadata": {"name": name}},
                                  WriteOptions(field_manager="kube-apiserver"))
        except StatusError as exc:
            if exc.code != 409:
                raise


async def open_datastore(datastore: str, data_dir: Path) -> Store:
    """`--datastore`: etcd when given an etcd:// URL, else the SQLite file in the data dir."""
    if datastore:
        from tinykube.storage.etcd import EtcdStore

        return await EtcdStore.open(datastore)
    return await SqliteStore.open(data_dir / "state.db")


async def cluster_credentials(config: ServerConfig, store: Store, data_dir: Path,
                              clock: Clock) -> tuple[str, TLSFiles]:
    """The token and TLS files this server serves with: the cluster's, shared through the datastore.

    The first server on a datastore makes them (with `--token`'s secret if given) and publishes
    them; every later server needs the token to read them (see clustersecrets).
    """
    given = parse_token(config.token) if config.token else None
    secret = given.secret if given else None
    while True:
        await clustersecrets.join(store, data_dir, secret)
        token = load_or_create_token(data_dir)
        tls = ensure_tls(data_dir / "pki", clock.now(), config.bind_address)
        if await clustersecrets.publish(store, data_dir, token):
            break
        secret = token  # another server published first: take its secrets (same token) instead
    if given and given.ca_hash and given.ca_hash != ca_hash(tls.ca_cert.read_bytes()):
        raise clustersecrets.SecretsError("the token's CA hash does not match the cluster's CA")
    return token, tls


async def run_compactor(store: Store, clock: Clock) -> None:
    """Keep history bounded: each interval, forget revisions older than the previous interval's."""
    previous = store.revision
    while True:
        await clock.sleep(COMPACT_INTERVAL)
        try:
            if previous > store.compacted_revision:
                await store.compact(previous)
        except Exception:
            log.exception("compaction failed")
        previous = store.revision


async def serve(config: ServerConfig) -> int:
    clock = Clock(config.time_scale)
    data_dir = config.data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        store = await open_datastore(config.datastore, data_dir)
    except StoreError as exc:
        print(f"error: cannot open the datastore {config.datastore or data_dir / 'state.db'}: {exc}",
              file=sys.stderr)
        return 1
    try:
        token, tls = await cluster_credentials(config, store, data_dir, clock)
    except (clustersecrets.SecretsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        await store.close()
        return 1
    registry = ObjectRegistry(store, clock, kind_hooks(clock))
    await bootstrap(registry)
    ready = asyncio.Event()
    api = APIServer(registry, clock, token, ready=ready.is_set)
    api.ca_pem = tls.ca_cert.read_bytes()
    uv_config = uvicorn.Config(api.app, host=config.bind_address, port=config.port, log_level="warning",
                               access_log=False, lifespan="off", timeout_graceful_shutdown=2,
                               timeout_keep_alive=75, ssl_certfile=str(tls.serving_cert),
                               ssl_keyfile=str(tls.serving_key))
    server = _Server(uv_config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.request_exit)
    background = [asyncio.create_task(run_compactor(store, clock))]
    # cluster-wide loops run on the leading server only, beside the other controllers
    config.components.extra_controllers += [functools.partial(run_serviceaccounts_controller, registry, clock),
                                            functools.partial(run_namespace_controller, registry, clock)]
    if config.components.data_dir is None:
        config.components.data_dir = data_dir
    components = Components(registry, clock, server_identity(data_dir), config.components)
    api.metrics = components.metrics
    api.handlers.pod_logs = PodLogs(data_dir / "pods", clock, components.process_runtime,
                                    components.agent.local_node)
    component_tasks = components.start()
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if serving.done():
        await components.stop(component_tasks)
        await store.close()
        return 1
    url = f"https://{config.bind_address}:{config.port}"
    kubeconfig = (config.kubeconfig or data_dir / "kubeconfig.yaml").expanduser()
    write_kubeconfig(kubeconfig, url, token, api.ca_pem)
    join_token = format_token(token, ca_hash(api.ca_pem))
    clustersecrets.write_files(data_dir, {"node-token": (join_token + "\n").encode()})
    ready.set()
    print(f"tinykube ready: {url} (kubeconfig: {kubeconfig})", flush=True)
    print(f"join token (tinykube agent/server --token; also in {data_dir / 'node-token'}): {join_token}",
          flush=True)
    try:
        await serving
    finally:
        await components.stop(component_tasks)
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await store.close()
    return 0


def run(config: ServerConfig) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        import uvloop
        return uvloop.run(serve(config))
    except ImportError:
        return asyncio.run(serve(config))

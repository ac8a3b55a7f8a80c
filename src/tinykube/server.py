"""`tinykube server`: open the store, bootstrap the cluster, serve the API until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import ssl
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import uvicorn

from tinykube.admission.chain import AdmissionChain, default_plugins
from tinykube.apiserver.app import APIServer
from tinykube import clustersecrets, gctuning
from tinykube.auth.authorizer import InformerPolicy
from tinykube.auth.bootstrap import ensure_bootstrap_policy
from tinykube.auth.tokens import TokenSigner, load_or_create_key
from tinykube.auth.x509auth import peer_cert_protocol
from tinykube.certs import TLSFiles, ensure_tls
from tinykube.clock import Clock
from tinykube.components import ComponentOptions, Components, server_identity
from tinykube.controllers.namespace import run_namespace_controller
from tinykube.controllers.serviceaccounts import run_serviceaccounts_controller
from tinykube.apiserver.streams import PodStreams
from tinykube.kubelet.podlogs import PodLogs
from tinykube.jointoken import ca_hash, format_token, parse_token
from tinykube.kubeconfig import load_or_create_token, write_kubeconfig
from tinykube.machinery.errors import StatusError
from tinykube.registry.hooks import kind_hooks
from tinykube.network.builtin import dns_service_ip, ensure_builtin_services
from tinykube.registry.objects import ObjectRegistry, WriteOptions
from tinykube.registry.serviceips import ServiceAllocator, first_ip, parse_cidr, parse_port_range, store_lister
from tinykube.registry.resources import RESOURCE_INDEX
from tinykube.registry.storageadmission import ensure_default_storage_class
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
    service_cidr: str = "10.96.0.0/12"  # --service-cluster-ip-range
    node_port_range: str = "30000-32767"  # --service-node-port-range
    cluster_dns_port: int = 0  # --cluster-dns-port: the loopback DNS port (0: any free one)
    cluster_domain: str = "cluster.local"
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
    await ensure_default_storage_class(registry)


def server_url(bind_address: str, port: int) -> str:
    """The URL clients use: the bound address, or loopback when bound to every address."""
    import ipaddress

    host = bind_address
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ipaddress.ip_address(host).version == 6:
        host = f"[{host}]"
    return f"https://{host}:{port}"


def _bind_token_lookups(signer: TokenSigner, components: Components) -> None:
    """Token issuing for pods reads ServiceAccounts and Nodes from the shared informer caches."""
    from tinykube.client.api import NODES, resource

    accounts = components.informers.informer(resource("v1", "serviceaccounts")).cache
    nodes = components.informers.informer(NODES).cache
    signer.service_account_lookup = lambda namespace, name: accounts.get(f"{namespace}/{name}")
    signer.node_lookup = nodes.get


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
        # clients check certificates against wall time: a scaled clock runs ahead of it
        tls = ensure_tls(data_dir / "pki", datetime.fromtimestamp(clock.real_time(), tz=timezone.utc),
                         config.bind_address, first_ip(parse_cidr(config.service_cidr)))
        load_or_create_key(data_dir / "pki" / "sa.key")  # ServiceAccount tokens verify on every server
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
    network = parse_cidr(config.service_cidr)
    allocator = ServiceAllocator(store_lister(store), network, parse_port_range(config.node_port_range))
    registry = ObjectRegistry(store, clock, kind_hooks(clock, allocator))
    await bootstrap(registry)
    await ensure_bootstrap_policy(registry)
    await ensure_builtin_services(registry, network, config.bind_address, config.port)
    ready = asyncio.Event()
    signer = TokenSigner(load_or_create_key(data_dir / "pki" / "sa.key"), clock.time)
    api = APIServer(registry, clock, token, signer, ready=ready.is_set)
    api.ca_pem = tls.ca_cert.read_bytes()
    registry.admission = AdmissionChain(default_plugins(registry, clock, api.authorizer))
    from uvicorn.config import HTTP_PROTOCOLS
    from uvicorn.importer import import_from_string
    # wsproto: kubectl's port-forward subprotocol ("SPDY/3.1+portforward.k8s.io") is not an RFC
    # token, and the websockets library refuses the handshake over it
    uv_config = uvicorn.Config(api.app, host=config.bind_address, port=config.port, log_level="warning",
                               ws="wsproto", access_log=False, lifespan="off", timeout_graceful_shutdown=2,
                               proxy_headers=False,  # no proxy in front: a client cannot say who it is
                               interface="asgi3",
                               timeout_keep_alive=75, ssl_certfile=str(tls.serving_cert),
                               ssl_keyfile=str(tls.serving_key), ssl_cert_reqs=ssl.CERT_OPTIONAL,
                               ssl_ca_certs=str(tls.ca_cert),
                               http=peer_cert_protocol(import_from_string(HTTP_PROTOCOLS["auto"])))
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
    config.components.ca_pem = tls.ca_cert.read_text()
    config.components.token_source = signer.token_source
    config.components.cluster_dns_port = config.cluster_dns_port
    config.components.cluster_dns_ip = dns_service_ip(network)
    config.components.cluster_domain = config.cluster_domain
    components = Components(registry, clock, server_identity(data_dir), config.components)
    api.authorizer.policy = InformerPolicy(components.informers)
    _bind_token_lookups(signer, components)
    api.metrics = components.metrics
    api.handlers.pod_logs = PodLogs(data_dir / "pods", clock, components.process_runtime,
                                    components.agent.local_node)
    api.handlers.streams = PodStreams(registry, components.runtime_for)
    component_tasks = components.start()
    try:
        dns_port = await components.start_dns()
    except OSError as exc:
        print(f"error: cluster DNS on 127.0.0.1:{config.cluster_dns_port}: {exc}", file=sys.stderr)
        await components.stop(component_tasks)
        await store.close()
        return 1
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if serving.done():
        await components.stop(component_tasks)
        await store.close()
        return 1
    url = server_url(config.bind_address, config.port)
    kubeconfig = (config.kubeconfig or data_dir / "kubeconfig.yaml").expanduser()
    write_kubeconfig(kubeconfig, url, token, tls.ca_cert.read_bytes(), tls.admin_cert.read_bytes(),
                     tls.admin_key.read_bytes())
    join_token = format_token(token, ca_hash(api.ca_pem))
    clustersecrets.write_files(data_dir, {"node-token": (join_token + "\n").encode()})
    ready.set()
    gctuning.freeze_startup_objects()
    print(f"cluster DNS: 127.0.0.1:{dns_port} (kube-dns {config.components.cluster_dns_ip}:53 when root)", flush=True)
    print(f"tinykube ready: {url} (kubeconfig: {kubeconfig})", flush=True)
    print(f"tinykube web view (one-time login link): {api.ui.login_link(url)}", flush=True)
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
    gctuning.tune()
    try:
        import uvloop
        return uvloop.run(serve(config))
    except ImportError:
        return asyncio.run(serve(config))

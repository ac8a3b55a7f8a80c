"""One pod on the process runtime: its containers' lives as real processes.

A `PodWorker` runs the init containers one after another to completion, then every app
container in its own loop: start (Pulled/Created/Started events, postStart hook), probe, wait
for the exit, and restart as the restart policy says with the crash-loop back-off. Deletion
stops every container: preStop hook, SIGTERM to its process group, SIGKILL when the grace
period is over. Every change calls `notify`, and the agent then reports `states()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any, Callable

from tinykube.client.api import Client, resource
from tinykube.client.events import EventRecorder
from tinykube.kubelet import envvars, logfiles, procutil, spawn
from tinykube.kubelet.images import HOST_PATH, ImageTable, not_runnable_message
from tinykube.kubelet.podstatus import (CONTAINER_CREATING, CONTAINER_STATUS_UNKNOWN, CRASH_LOOP_BACK_OFF,
                                        ContainerState, RestartBackoff, TerminatedInfo, container_will_restart,
                                        crash_loop_event_message, exit_reason, is_sidecar)
from tinykube.kubelet.serviceenv import service_env
from tinykube.kubelet.probes import (LIVENESS, PROBE_FIELDS, READINESS, STARTUP, ProbeCounter, ProbeSpec,
                                     grpc_probe, http_probe, resolve_port, tcp_probe)
from tinykube.kubelet.sandbox.mounts import VolumeError, pod_hostname
from tinykube.kubelet.sandbox.pod import PodIsolation
from tinykube.kubelet.sim import image_id, stamp
from tinykube.machinery.errors import StatusError

log = logging.getLogger(__name__)

Obj = dict[str, Any]
CONFIGMAPS = resource("v1", "configmaps")
SECRETS = resource("v1", "secrets")
SERVICES = resource("v1", "services")

CONFIG_RETRY = 10.0  # seconds between attempts to create a container whose ConfigMap/Secret is missing
DEFAULT_GRACE = 30.0
START_ERROR_CODE = 128  # runc's exit code for a container whose process could not start
OOM_KILLED = "OOMKilled"
DEFAULT_INDEX = """<!DOCTYPE html>
<html>
<head><title>Welcome to nginx!</title></head>
<body>
<h1>Welcome to nginx!</h1>
<p>Served by tinykube's process runtime from this pod's web root.</p>
</body>
</html>
"""
_UNKNOWN_AFTER_RESTART = "The container could not be located when the node agent restarted.  " \
                         "The container used to be Running"


class Container:
    """Everything known about one container of the pod, across its runs."""

    def __init__(self, spec: Obj, init: bool) -> None:
        self.spec = spec
        self.name: str = spec.get("name", "")
        self.image: str = spec.get("image", "")
        self.init = init
        self.kind = "waiting"
        self.reason = CONTAINER_CREATING
        self.message = ""
        self.exit_code = 0
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.restart_count = 0
        self.last: TerminatedInfo | None = None
        self.ready = False
        self.started: bool | None = None
        self.container_id = ""
        self.runs = 0
        self.reported = False  # the runtime has something to say about it (else: podstatus defaults)
        self.backing_off = False
        self.process: spawn.ChildProcess | None = None
        self.run_done = asyncio.Event()
        self.run_done.set()
        self.backoff = RestartBackoff()
        self.failed_event = ""  # the last Failed event message (recorded once per cause)
        self.env: dict[str, str] = {"PATH": HOST_PATH}  # of the current run: exec probes and hooks use it
        self.cwd = "/"
        self.cgroup_procs: list[str] = []  # the cgroups of the current run (execs join them too)

    @property
    def path(self) -> str:
        return f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"

    def terminated_info(self) -> TerminatedInfo:
        return TerminatedInfo(exit_code=self.exit_code, reason=self.reason, message=self.message,
                              started_at=stamp(self.started_at) if self.started_at else None,
                              finished_at=stamp(self.finished_at) if self.finished_at else None,
                              container_id=self.container_id)

    def state(self) -> ContainerState:
        common = dict(name=self.name, image=self.image, image_id=image_id(self.image) if self.runs else "",
                      restart_count=self.restart_count, container_id=self.container_id,
                      last_terminated=self.last)
        if self.kind == "running":
            return ContainerState(kind="running", started_at=stamp(self.started_at or 0), ready=self.ready,
                                  started=self.started, **common)
        if self.kind == "terminated" and self.backing_off:
            common["last_terminated"] = self.terminated_info()
            return ContainerState(kind="waiting", reason=CRASH_LOOP_BACK_OFF, **common)
        if self.kind == "terminated":
            info = self.terminated_info()
            return ContainerState(kind="terminated", reason=info.reason, message=info.message,
                                  exit_code=info.exit_code, started_at=info.started_at,
                                  finished_at=info.finished_at, **common)
        return ContainerState(kind="waiting", reason=self.reason, message=self.message, **common)

    def restore(self, reported: Obj, now: float) -> None:
        """Take over what an earlier agent reported; a container it ran is gone now (killed)."""
        from tinykube.clock import parse_time

        state = reported.get("state") or {}
        self.restart_count = int(reported.get("restartCount") or 0)
        self.container_id = reported.get("containerID", "")
        last = (reported.get("lastState") or {}).get("terminated")
        if last:
            self.last = TerminatedInfo(int(last.get("exitCode") or 0), last.get("reason", ""), last.get("startedAt"),
                                       last.get("finishedAt"), last.get("containerID", ""), last.get("message", ""))
        if "running" in state:
            started = state["running"].get("startedAt")
            self.kind, self.exit_code, self.reason = "terminated", 137, CONTAINER_STATUS_UNKNOWN
            self.message = _UNKNOWN_AFTER_RESTART
            self.started_at = parse_time(started).timestamp() if started else now
            self.finished_at, self.runs, self.reported = now, 1, True
        elif "terminated" in state:
            term = state["terminated"]
            self.kind, self.exit_code = "terminated", int(term.get("exitCode") or 0)
            self.reason, self.message = term.get("reason") or exit_reason(self.exit_code), term.get("message", "")
            self.started_at = parse_time(term["startedAt"]).timestamp() if term.get("startedAt") else now
            self.finished_at = parse_time(term["finishedAt"]).timestamp() if term.get("finishedAt") else now
            self.runs, self.reported = 1, True
        elif self.last is not None:  # waiting to restart after a crash
            self.kind, self.exit_code, self.reason = "terminated", self.last.exit_code, self.last.reason
            self.message, self.container_id = self.last.message, self.last.container_id
            self.started_at = self.finished_at = now
            self.restart_count = max(0, self.restart_count - 1)
            self.last, self.runs, self.reported = None, 1, True


class PodWorker:
    def __init__(self, *, key: str, pod: Obj, address: str, root: Path, state_dir: Path, client: Client, clock: Any,
                 images: ImageTable, recorder: EventRecorder | None, notify: Callable[[], None],
                 node_allocatable: dict[str, str], live_logs: set[Path], host_ip: str | None = None,
                 isolation: PodIsolation | None = None) -> None:
        self.key = key
        self.pod = pod
        self.uid: str = pod["metadata"].get("uid", "")
        self.address = address
        self.client = client
        self.clock = clock
        self.images = images
        self.recorder = recorder
        self.notify = notify
        self.allocatable = node_allocatable
        self.live_logs = live_logs
        self.host_ip = host_ip or address
        self.isolation = isolation  # None: the containers run on the host, without namespaces
        meta = pod["metadata"]
        self.dir = logfiles.pod_dir(root, meta.get("namespace", ""), meta.get("name", ""), self.uid)  # logs
        self.state_dir = state_dir  # pid files (and the sandbox's state): see statedir
        spec = pod.get("spec") or {}
        self.inits = [Container(c, True) for c in spec.get("initContainers") or []]
        self.apps = [Container(c, False) for c in spec.get("containers") or []]
        self.started_time = clock.time()
        self.stopping = False
        self.task: asyncio.Task[None] | None = None
        self.stopper: asyncio.Task[None] | None = None  # the deletion's stop, once begun
        self._side: set[asyncio.Task[Any]] = set()
        self._restore(pod)

    # ------------------------------------------------------------------ reporting

    def states(self) -> tuple[list[ContainerState], list[ContainerState]]:
        return ([c.state() for c in self.inits if c.reported], [c.state() for c in self.apps if c.reported])

    def _restore(self, pod: Obj) -> None:
        status = pod.get("status") or {}
        if not status.get("startTime"):
            return
        from tinykube.clock import parse_time

        self.started_time = parse_time(status["startTime"]).timestamp()
        now = self.clock.time()
        for containers, key in ((self.inits, "initContainerStatuses"), (self.apps, "containerStatuses")):
            reported = {s.get("name"): s for s in status.get(key) or []}
            for ctr in containers:
                if ctr.name in reported:
                    ctr.restore(reported[ctr.name], now)
        if any(c.reported for c in self.apps):  # app containers ran: the pod was initialized
            for ctr in self.inits:
                if not is_sidecar(ctr.spec):
                    ctr.kind, ctr.reason, ctr.exit_code = "terminated", "Completed", 0

    def _event(self, ctr: Container | None, kind: str, reason: str, message: str) -> None:
        if self.recorder is not None:
            self.recorder.event(self.pod, kind, reason, message, ctr.path if ctr else "")

    def _spawn_side(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    # ------------------------------------------------------------------ the pod's life

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"pod {self.key}")

    async def _run(self) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            if self.isolation is not None and not await self._isolate(self.isolation):
                return
            for ctr in self.inits:
                if ctr.kind == "terminated" and ctr.exit_code == 0 and not is_sidecar(ctr.spec):
                    continue
                if is_sidecar(ctr.spec):
                    self._spawn_side(self._loop(ctr))
                    while not (ctr.kind == "running" and ctr.started is not False) and not self.stopping:
                        await self.clock.sleep(0.1)
                    continue
                if not await self._loop(ctr):
                    return  # failed for good (restartPolicy Never): the pod fails
            await asyncio.gather(*(self._loop(ctr) for ctr in self.apps))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pod %s: process runtime failed", self.key)

    def _facts(self) -> envvars.PodFacts:
        return envvars.PodFacts(pod_ip=self.address, host_ip=self.host_ip, node_allocatable=self.allocatable)

    async def _isolate(self, isolation: PodIsolation) -> bool:
        """Volumes, then the sandbox, retried until they work (False: the pod is being stopped)."""
        reported = ""
        while not self.stopping:
            try:
                await isolation.set_up_volumes(self.pod, self._facts())
                break
            except VolumeError as exc:
                if str(exc) != reported:
                    reported = str(exc)
                    self._event(None, "Warning", "FailedMount", reported)
            await self.clock.sleep(CONFIG_RETRY)
        return await self._start_sandbox(isolation)

    async def _start_sandbox(self, isolation: PodIsolation) -> bool:
        """The sandbox, retried until it starts (False: the pod is being stopped). One that died
        (and with it every container of the pod) is made anew, as upstream's SandboxChanged."""
        while not self.stopping:
            try:
                if await isolation.start_sandbox(self.pod):
                    self._event(None, "Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
                return True
            except (RuntimeError, OSError) as exc:
                log.warning("pod %s: %s", self.key, exc)
                self._event(None, "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {exc}")
            await self.clock.sleep(CONFIG_RETRY)
        return False

    def _exec_start(self, ctr: Container) -> procutil.Start:
        """How exec probes and hooks get into the container (without a sandbox: beside it)."""
        if self.isolation is None or ctr.process is None:
            return procutil.host_start
        return self.isolation.enter_running(ctr.process.pid, ctr.cgroup_procs) or procutil.host_start

    async def release(self) -> None:
        """The pod is done here: remove its sandbox (and every process left in it)."""
        if self.isolation is not None:
            await self.isolation.tear_down()

    async def _loop(self, ctr: Container) -> bool:
        """Run a container as long as the restart policy wants it; True when it last exited 0."""
        if ctr.kind == "terminated" and not container_will_restart(self.pod, ctr.name, ctr.exit_code):
            return ctr.exit_code == 0
        while not self.stopping:
            if ctr.kind == "terminated":
                delay = ctr.backoff.next_delay(self.clock.time())
                if delay > 0:
                    ctr.backing_off = True
                    self.notify()
                    self._event(ctr, "Warning", "BackOff", crash_loop_event_message(ctr.name, self.pod))
                    await self.clock.sleep(delay)
                    ctr.backing_off = False
                    if self.stopping:
                        break
            prepared = await self._prepare(ctr)
            if prepared is None:
                return False  # not runnable at all: stays waiting with its reason
            if prepared is False:
                await self.clock.sleep(CONFIG_RETRY)
                continue
            argv, env, cwd = prepared
            if self.isolation is not None and not await self._start_sandbox(self.isolation):
                break
            code = await self._run_once(ctr, argv, env, cwd)
            if self.stopping or not container_will_restart(self.pod, ctr.name, code):
                return code == 0
        return ctr.kind == "terminated" and ctr.exit_code == 0

    async def _prepare(self, ctr: Container) -> tuple[list[str], dict[str, str], str] | bool | None:
        """argv, environment and working directory; False: retry later; None: never runnable."""
        spec = ctr.spec
        entry = None
        if not spec.get("command"):
            entry = self.images.lookup(ctr.image)
            if entry is None or not entry.runnable:
                self._waiting(ctr, "ImageNotRunnable", not_runnable_message(ctr.image, self.images))
                return None
        sources = envvars.Sources()
        namespace = self.pod["metadata"].get("namespace", "")
        for kind, name in sorted(envvars.referenced_sources(spec)):
            try:
                obj = await self.client.get(CONFIGMAPS if kind == "configmap" else SECRETS, name, namespace)
            except StatusError as exc:
                if exc.code != 404:
                    raise
                obj = None
            (sources.configmaps if kind == "configmap" else sources.secrets)[name] = obj
        base = {"PATH": HOST_PATH, "HOSTNAME": pod_hostname(self.pod),
                "HOME": os.environ.get("HOME", "/root")}
        if entry is not None:
            base.update(dict(entry.env))
        try:
            env, warnings = envvars.container_env(self.pod, spec, self._facts(), sources, base,
                                                  services=await self._service_env())
        except envvars.EnvError as exc:
            self._waiting(ctr, "CreateContainerConfigError", str(exc))
            return False
        for warning in warnings:
            self._event(ctr, "Warning", "InvalidEnvironmentVariableNames", warning)
        entrypoint: list[str] = []
        cmd: list[str] = []
        if entry is not None:
            builtins = envvars.mapping(self._builtins(ctr, entry), env)
            entrypoint = [envvars.expand(c, builtins) for c in entry.command]
            cmd = [envvars.expand(c, builtins) for c in entry.args]
        argv = envvars.command_line(entrypoint, cmd, spec, env)
        cwd = spec.get("workingDir") or (entry.working_dir if entry else "") or "/"
        return argv, env, cwd

    async def _service_env(self) -> dict[str, str]:
        """The service variables of the pod's namespace (and the `kubernetes` Service's)."""
        listed = await self.client.list(SERVICES)
        return service_env(self.pod, listed["items"])

    def _builtins(self, ctr: Container, entry: Any) -> dict[str, str]:
        ports = [p.get("containerPort") for p in ctr.spec.get("ports") or [] if p.get("containerPort")]
        own_root = self.isolation.nginx_root(ctr.spec) if self.isolation is not None else None
        html = Path(own_root) if own_root else self.dir / "html"
        if not own_root and any("TINYKUBE_HTML" in part for part in entry.command + entry.args) and not html.exists():
            html.mkdir(parents=True, exist_ok=True)
            (html / "index.html").write_text(DEFAULT_INDEX)
        return {"TINYKUBE_PYTHON": sys.executable, "TINYKUBE_PORT": str(ports[0] if ports else 80),
                "TINYKUBE_HTML": str(html), "TINYKUBE_POD_IP": self.address,
                # in its own network namespace a server binds every address, so `curl localhost` in
                # the pod answers; on the host's network the pod IP keeps replicas' ports apart
                "TINYKUBE_LISTEN_ADDRESS": "0.0.0.0" if self.isolation is not None else self.address}

    def _waiting(self, ctr: Container, reason: str, message: str) -> None:
        changed = (ctr.kind, ctr.reason, ctr.message) != ("waiting", reason, message)
        if ctr.kind != "terminated":
            ctr.kind = "waiting"
        ctr.reason, ctr.message, ctr.reported = reason, message, True
        if ctr.failed_event != message:
            ctr.failed_event = message
            self._event(ctr, "Warning", "Failed", f"Error: {message}")
        if changed:
            self.notify()

    async def _run_once(self, ctr: Container, argv: list[str], env: dict[str, str], cwd: str) -> int:
        """One run of the container, from start to exit; its exit code."""
        now = self.clock.time()
        if ctr.runs:
            ctr.last = ctr.terminated_info()
            ctr.restart_count += 1
        ctr.runs += 1
        ctr.env, ctr.cwd = env, cwd
        ctr.container_id = "tinykube://" + secrets.token_hex(32)
        ctr.failed_event = ""
        ctr.run_done.clear()
        path = self.dir / ctr.name / f"{ctr.restart_count}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._event(ctr, "Normal", "Pulled", f'Container image "{ctr.image}" already present on machine')
        self._event(ctr, "Normal", "Created", f"Created container: {ctr.name}")
        try:
            group, ctr.cgroup_procs = self.isolation.cgroup(self.pod, ctr.spec) if self.isolation else (None, [])
            ooms = group.oom_kills_before_start() if group is not None else 0
            start = self.isolation.enter(ctr.spec, ctr.cgroup_procs) if self.isolation is not None \
                else procutil.host_start
            try:
                process = await procutil.spawn(argv, env, cwd, start)
            except OSError as exc:
                message = procutil.start_error(argv, exc)
                ctr.kind, ctr.reason, ctr.message, ctr.exit_code = "terminated", "StartError", message, \
                    START_ERROR_CODE
                ctr.started_at, ctr.finished_at, ctr.reported, ctr.ready = None, now, True, False
                path.touch()
                self._event(ctr, "Warning", "Failed", f"Error: {message}")
                self.notify()
                return START_ERROR_CODE
            ctr.process = process
            pid_file = self.state_dir / ctr.name / "pid"
            pid_file.parent.mkdir(parents=True, exist_ok=True)
            procutil.write_pid_file(pid_file, process.pid)
            self.live_logs.add(path)
            with open(path, "ab") as out:
                pumps = [asyncio.create_task(procutil.pump(process.stdout, "stdout", out, self.clock.time)),
                         asyncio.create_task(procutil.pump(process.stderr, "stderr", out, self.clock.time))]
                ctr.kind, ctr.reason, ctr.message = "running", "", ""
                ctr.started_at, ctr.finished_at, ctr.reported = now, None, True
                ctr.ready = not ctr.spec.get("readinessProbe") or ctr.init and not is_sidecar(ctr.spec)
                ctr.started = False if ctr.spec.get("startupProbe") else None
                self._event(ctr, "Normal", "Started", f"Started container {ctr.name}")
                probes: list[asyncio.Task[None]] = []
                waiter = asyncio.ensure_future(process.wait())
                if await self._post_start(ctr, env, cwd, waiter):
                    self.notify()
                    if not ctr.init or is_sidecar(ctr.spec):
                        probes = [asyncio.create_task(self._probe_loop(ctr, kind, ctr.spec[field], process))
                                  for kind, field in PROBE_FIELDS.items() if ctr.spec.get(field)]
                returncode = await asyncio.shield(waiter)
                for task in probes:
                    task.cancel()
                procutil.signal_group(process.pid, signal.SIGKILL)  # whatever the container left running
                await asyncio.wait(pumps, timeout=2)
                for task in pumps:
                    task.cancel()
            code = procutil.exit_code_of(returncode)
            ctr.kind, ctr.exit_code, ctr.reason = "terminated", code, exit_reason(code)
            if group is not None and code == 137 and group.oom_kills() > ooms:
                ctr.reason = OOM_KILLED
            ctr.message, ctr.finished_at, ctr.ready = "", self.clock.time(), False
            ctr.started = None
            self.notify()
            return code
        finally:
            self.live_logs.discard(path)
            with contextlib.suppress(OSError):
                (self.state_dir / ctr.name / "pid").unlink()
            ctr.process = None
            ctr.run_done.set()

    # ------------------------------------------------------------------ hooks, probes, stopping

    def _hook_command(self, ctr: Container, name: str) -> list[str] | None:
        handler = ((ctr.spec.get("lifecycle") or {}).get(name) or {})
        return list((handler.get("exec") or {}).get("command") or []) or None

    async def _post_start(self, ctr: Container, env: dict[str, str], cwd: str, waiter: asyncio.Future[Any]) -> bool:
        """Run the postStart hook; on failure the container is killed (and restarted per policy)."""
        argv = self._hook_command(ctr, "postStart")
        if argv is None:
            return True
        code, output = await procutil.run_exec(self.clock, argv, env, cwd, self._grace(), self._exec_start(ctr))
        if code == 0:
            return True
        message = f"Exec lifecycle hook ({argv}) for Container \"{ctr.name}\" in Pod \"{self.pod['metadata']['name']}" \
                  f"_{self.pod['metadata'].get('namespace', '')}({self.uid})\" failed - error: command " \
                  f"'{' '.join(argv)}' exited with {code}: {output.strip()}, message: \"{output.strip()}\""
        self._event(ctr, "Warning", "FailedPostStartHook", message)
        self._spawn_side(self.stop_container(ctr, self._grace(), "FailedPostStartHook", pre_stop=False))
        return False

    def _grace(self, probe: Obj | None = None) -> float:
        if probe and probe.get("terminationGracePeriodSeconds") is not None:
            return float(probe["terminationGracePeriodSeconds"])
        value = (self.pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        return float(DEFAULT_GRACE if value is None else value)

    async def _probe(self, ctr: Container, probe: Obj, timeout: float) -> tuple[bool, str]:
        try:
            if probe.get("exec"):
                argv = list(probe["exec"].get("command") or [])
                code, output = await procutil.run_exec(self.clock, argv, ctr.env, ctr.cwd, timeout,
                                                       self._exec_start(ctr))
                return code == 0, output.strip() if code is not None else output
            if probe.get("httpGet"):
                return await http_probe(probe["httpGet"], ctr.spec, self.address, timeout)
            if probe.get("tcpSocket"):
                action = probe["tcpSocket"]
                return await tcp_probe(action.get("host") or self.address, resolve_port(action.get("port"), ctr.spec),
                                       timeout)
            if probe.get("grpc"):
                action = probe["grpc"]
                return await grpc_probe(self.address, int(action.get("port") or 0), action.get("service") or "",
                                        timeout)
        except ValueError as exc:
            return False, str(exc)
        return False, "missing probe handler"

    async def _probe_loop(self, ctr: Container, kind: str, probe: Obj, process: Any) -> None:
        """The kubelet's probe worker for one run of the container."""
        spec = ProbeSpec.of(probe)
        counter = ProbeCounter(spec.success_threshold, spec.failure_threshold)
        began = self.clock.monotonic()
        while ctr.process is process and ctr.kind == "running":
            if kind == STARTUP and ctr.started:
                return
            gated = kind != STARTUP and ctr.started is False
            if not gated and self.clock.monotonic() - began >= spec.initial_delay:
                ok, output = await self._probe(ctr, probe, spec.timeout)
                if ctr.process is not process or self.stopping:
                    return
                if not ok:
                    self._event(ctr, "Warning", "Unhealthy", f"{kind} probe failed: {output}")
                verdict = counter.observe(ok)
                if verdict is not None:
                    if kind == READINESS and ctr.ready != verdict:
                        ctr.ready = verdict
                        self.notify()
                    elif kind == STARTUP and verdict:
                        ctr.started = True
                        self.notify()
                        return
                    elif kind in (LIVENESS, STARTUP) and not verdict:
                        message = f"Container {ctr.name} failed {kind.lower()} probe, will be restarted"
                        self._spawn_side(self.stop_container(ctr, self._grace(probe), message))
                        return
            await self.clock.sleep(spec.period)

    async def stop_container(self, ctr: Container, grace: float, message: str = "", *, pre_stop: bool = True) -> None:
        """preStop, SIGTERM to the process group, SIGKILL once `grace` seconds have passed."""
        process = ctr.process
        if process is None or process.returncode is not None:
            return
        self._event(ctr, "Normal", "Killing", message or f"Stopping container {ctr.name}")
        deadline = self.clock.monotonic() + grace
        argv = self._hook_command(ctr, "preStop") if pre_stop else None
        if argv is not None:
            code, output = await procutil.run_exec(self.clock, argv, ctr.env, ctr.cwd, max(0.0, grace),
                                                   self._exec_start(ctr))
            if code != 0:
                self._event(ctr, "Warning", "FailedPreStopHook",
                            f"PreStopHook failed: command '{' '.join(argv)}' exited with {code}: {output.strip()}")
        if process.returncode is None:
            procutil.signal_group(process.pid, signal.SIGTERM)
        remaining = max(0.0, deadline - self.clock.monotonic())
        exited, _ = await procutil.within(self.clock, remaining, asyncio.shield(process.wait()))
        if not exited:
            procutil.signal_group(process.pid, signal.SIGKILL)
        await procutil.within(self.clock, 5.0, ctr.run_done.wait())

    async def stop(self, grace: float) -> None:
        """Deletion: stop every container within the grace period; nothing restarts."""
        self.stopping = True
        running = [c for c in self.inits + self.apps if c.process is not None]
        await asyncio.gather(*(self.stop_container(c, grace) for c in running))
        await self.cancel()
        await self.release()

    async def cancel(self) -> None:
        for task in [self.task, *self._side]:
            if task is not None and not task.done() and task is not asyncio.current_task():
                task.cancel()
        for task in [self.task, *list(self._side)]:
            if task is not None and task is not asyncio.current_task():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def kill_now(self, sig: int = signal.SIGKILL) -> list[spawn.ChildProcess]:
        """Signal every running container's group at once (server shutdown, forced deletion)."""
        self.stopping = True
        procs = [c.process for c in self.inits + self.apps if c.process is not None]
        for process in procs:
            procutil.signal_group(process.pid, sig)
        return procs

"""The pods/log subresource: which log file a request means, and its bytes (or a follow stream).

The checks are upstream's, in its order: the API server's (a container must be named when the
pod has several, it must be one of the pod's, the pod must be bound), then the kubelet's on
the container's status (waiting to start, no previous terminated container). Simulated
containers run nothing and print nothing, so their log is empty.

A run of a container writes `<restartCount>.log`. While the container runs or is terminated,
its current file is its restartCount's and its previous one the one before; while it waits to
restart (CrashLoopBackOff) the run that just ended — its lastState — is the restartCount's file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

from tinykube.clock import parse_time
from tinykube.kubelet import logfiles
from tinykube.machinery import errors

Obj = dict[str, Any]
FOLLOW_POLL = 0.1  # wall seconds between looks at a followed log file


def _int_param(params: Any, key: str) -> int | None:
    raw = params.get(key)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise errors.bad_request(f'{key}: Invalid value: "{raw}": must be an integer') from None


@dataclass(frozen=True)
class LogRequest:
    container: str
    follow: bool
    previous: bool
    query: logfiles.LogQuery


def parse_request(params: Any, now: float) -> LogRequest:
    """The PodLogOptions of a request, validated as the API server does."""
    tail = _int_param(params, "tailLines")
    limit = _int_param(params, "limitBytes")
    since_seconds = _int_param(params, "sinceSeconds")
    since_time = params.get("sinceTime") or ""
    problems = []
    if tail is not None and tail < 0:
        problems.append(f"tailLines: Invalid value: {tail}: must be greater than or equal to 0")
    if limit is not None and limit < 1:
        problems.append(f"limitBytes: Invalid value: {limit}: must be greater than 0")
    if since_seconds is not None and since_time:
        problems.append("at most one of sinceTime or sinceSeconds may be specified")
    elif since_seconds is not None and since_seconds < 1:
        problems.append(f"sinceSeconds: Invalid value: {since_seconds}: must be greater than 0")
    if problems:
        raise errors.bad_request(", ".join(problems))
    since = None
    if since_seconds is not None:
        since = now - since_seconds
    elif since_time:
        try:
            since = parse_time(since_time).timestamp()
        except ValueError:
            raise errors.bad_request(f'sinceTime: Invalid value: "{since_time}": must be RFC3339') from None
    flag = lambda key: str(params.get(key, "")).lower() in ("true", "1")  # noqa: E731
    return LogRequest(params.get("container", ""), flag("follow"), flag("previous"),
                      logfiles.LogQuery(timestamps=flag("timestamps"), tail_lines=tail, since=since,
                                        limit_bytes=limit))


def choose_container(pod: Obj, name: str) -> str:
    """The container a log request is for (the API server's rules and messages)."""
    spec = pod.get("spec") or {}
    pod_name = pod["metadata"]["name"]
    containers = [c.get("name", "") for c in spec.get("containers") or []]
    inits = [c.get("name", "") for c in spec.get("initContainers") or []]
    ephemeral = [c.get("name", "") for c in spec.get("ephemeralContainers") or []]
    if not name:
        if len(containers) == 1:
            return containers[0]
        if not containers:
            raise errors.bad_request(f"a container name must be specified for pod {pod_name}")
        message = f"a container name must be specified for pod {pod_name}, choose one of: [{' '.join(containers)}]"
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
        raise errors.bad_request(message)
    if name not in containers + inits + ephemeral:
        raise errors.bad_request(f"container {name} is not valid for pod {pod_name}")
    if not spec.get("nodeName"):
        raise errors.bad_request(f"pod {pod_name} does not have a host assigned")
    return name


def log_run(pod: Obj, container: str, previous: bool) -> int:
    """Which run's file (its restartCount) the request reads; the kubelet's status checks."""
    status = pod.get("status") or {}
    pod_name = pod["metadata"]["name"]
    found = None
    for item in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []) + \
            (status.get("ephemeralContainerStatuses") or []):
        if item.get("name") == container:
            found = item
    if found is None:
        raise errors.bad_request(f'container "{container}" in pod "{pod_name}" is waiting to start: '
                                 f"ContainerCreating")
    state = found.get("state") or {}
    last = (found.get("lastState") or {}).get("terminated")
    count = int(found.get("restartCount") or 0)
    if previous:
        if not last:
            raise errors.bad_request(f'previous terminated container "{container}" in pod "{pod_name}" not found')
        return count if "waiting" in state else count - 1
    if "running" in state or "terminated" in state:
        return count
    if last:
        return count
    reason = (state.get("waiting") or {}).get("reason")
    if reason:
        raise errors.bad_request(f'container "{container}" in pod "{pod_name}" is waiting to start: {reason}')
    raise errors.bad_request(f'container "{container}" in pod "{pod_name}" is waiting to start - no logs yet')


class PodLogs:
    """Serves pod logs from the process runtime's files (empty for simulated pods)."""

    def __init__(self, root: Path, clock: Any, runtime: Any, local_node: str | None) -> None:
        self.root = root
        self.clock = clock
        self.runtime = runtime  # the ProcessRuntime, or None when the local node is simulated
        self.local_node = local_node

    def path_for(self, pod: Obj, request: LogRequest) -> tuple[Path | None, logfiles.LogQuery]:
        container = choose_container(pod, request.container)
        run = log_run(pod, container, request.previous)
        if self.runtime is None or (pod.get("spec") or {}).get("nodeName") != self.local_node:
            return None, request.query
        meta = pod["metadata"]
        return logfiles.log_path(self.root, meta.get("namespace", ""), meta["name"], meta.get("uid", ""),
                                 container, run), request.query

    async def stream(self, path: Path | None, request: LogRequest) -> AsyncIterator[bytes]:
        if path is None:
            return
        body, offset = logfiles.read_log(path, request.query)
        sent = len(body)
        if body:
            yield body
        limit = request.query.limit_bytes
        while request.follow and path in self.runtime.live_logs and (limit is None or sent < limit):
            await self.clock.sleep(FOLLOW_POLL * self.clock.scale)
            offset, chunk = self._read_from(path, offset, request.query)
            if limit is not None:
                chunk = chunk[:limit - sent]
            if chunk:
                sent += len(chunk)
                yield chunk
        if request.follow and (limit is None or sent < limit):
            _, chunk = self._read_from(path, offset, request.query)  # what it wrote as it exited
            if chunk:
                yield chunk[:None if limit is None else limit - sent]

    @staticmethod
    def _read_from(path: Path, offset: int, query: logfiles.LogQuery) -> tuple[int, bytes]:
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return offset, b""
        end = data.rfind(b"\n") + 1
        lines = logfiles.parse_lines(data[:end])
        return offset + end, b"".join(line.render(query.timestamps) for line in lines)

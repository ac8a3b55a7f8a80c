"""Tables for the pure parts of the process runtime: expansion, environment, images, probes,
back-off, CRI log lines and the pods/log selection rules."""

from __future__ import annotations

import base64
import os
from datetime import datetime, timezone

import pytest

from tinykube.kubelet import envvars, logfiles, podlogs
from tinykube.kubelet.images import build_table, repository
from tinykube.kubelet.process import LoopbackAddresses, loopback_address
from tinykube.kubelet.podstatus import RestartBackoff
from tinykube.kubelet.probes import ProbeCounter, ProbeSpec, resolve_port
from tinykube.kubelet.procutil import exit_code_of
from tinykube.machinery.errors import StatusError

VARS = {"VAR": "value", "EMPTY": "", "A": "a"}


@pytest.mark.parametrize("text,expected", [
    ("$(VAR)", "value"),
    ("pre-$(VAR)-post", "pre-value-post"),
    ("$(VAR)$(A)", "valuea"),
    ("$(UNDEFINED)", "$(UNDEFINED)"),
    ("$$(VAR)", "$(VAR)"),
    ("$$$(VAR)", "$value"),
    ("$$", "$"),
    ("$", "$"),
    ("a$", "a$"),
    ("$(VAR", "$(VAR"),
    ("$(", "$("),
    ("$VAR", "$VAR"),
    ("$(EMPTY)x", "x"),
    ("$()", "$()"),
    ("no refs", "no refs"),
])
def test_expand(text: str, expected: str):
    assert envvars.expand(text, envvars.mapping(VARS)) == expected


POD = {"metadata": {"name": "web-0", "namespace": "shop", "uid": "u-1", "labels": {"app": "web", "tier": "fe"},
                    "annotations": {"note": "x"}},
       "spec": {"nodeName": "node-a", "serviceAccountName": "default",
                "containers": [{"name": "c", "resources": {"limits": {"cpu": "500m", "memory": "128Mi"},
                                                           "requests": {"cpu": "250m"}}}]}}
FACTS = envvars.PodFacts(pod_ip="127.0.0.1", host_ip="127.0.0.2", node_allocatable={"cpu": "2", "memory": "1Gi"})


@pytest.mark.parametrize("path,expected", [
    ("metadata.name", "web-0"), ("metadata.namespace", "shop"), ("metadata.uid", "u-1"),
    ("metadata.labels['app']", "web"), ("metadata.labels['missing']", ""), ("metadata.annotations['note']", "x"),
    ("spec.nodeName", "node-a"), ("spec.serviceAccountName", "default"), ("status.podIP", "127.0.0.1"),
    ("status.hostIP", "127.0.0.2"), ("metadata.labels", 'app="web"\ntier="fe"'),
])
def test_field_ref(path: str, expected: str):
    assert envvars.field_ref(POD, path, FACTS) == expected


@pytest.mark.parametrize("ref,expected", [
    ({"resource": "limits.cpu"}, "1"),  # 500m rounded up to whole cores
    ({"resource": "limits.cpu", "divisor": "1m"}, "500"),
    ({"resource": "requests.cpu", "divisor": "1m"}, "250"),
    ({"resource": "limits.memory", "divisor": "1Mi"}, "128"),
    ({"resource": "limits.memory"}, str(128 * 1024 * 1024)),
    ({"resource": "requests.memory", "divisor": "1Mi"}, "128"),  # request defaults to the limit
    ({"resource": "limits.ephemeral-storage"}, "0"),  # no limit, no allocatable
])
def test_resource_field_ref(ref: dict, expected: str):
    container = POD["spec"]["containers"][0]
    assert envvars.resource_field_ref(POD, container, ref, FACTS) == expected


def test_resource_field_ref_without_limit_reads_node_allocatable():
    assert envvars.resource_field_ref(POD, {"name": "x"}, {"resource": "limits.memory", "divisor": "1Mi"},
                                      FACTS) == "1024"


SOURCES = envvars.Sources(
    configmaps={"cfg": {"data": {"A": "1", "B": "from-cm", "bad=key": "x"}}, "absent": None},
    secrets={"sec": {"data": {"PASSWORD": base64.b64encode(b"s3cret").decode()}}})


@pytest.mark.parametrize("container,expected", [
    ({"env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "$(X)-2"}]}, {"X": "1", "Y": "1-2"}),
    ({"env": [{"name": "Y", "value": "$(X)"}, {"name": "X", "value": "1"}]}, {"Y": "$(X)", "X": "1"}),
    ({"envFrom": [{"configMapRef": {"name": "cfg"}}], "env": [{"name": "B", "value": "mine"}]},
     {"A": "1", "B": "mine"}),
    ({"envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CM_"}]}, {"CM_A": "1", "CM_B": "from-cm"}),
    ({"envFrom": [{"secretRef": {"name": "sec"}}]}, {"PASSWORD": "s3cret"}),
    ({"envFrom": [{"configMapRef": {"name": "absent", "optional": True}}]}, {}),
    ({"env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "PASSWORD"}}}]}, {"P": "s3cret"}),
    ({"env": [{"name": "P", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nope", "optional": True}}}]},
     {}),
    ({"env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
              {"name": "M", "value": "pod $(N)"}]}, {"N": "web-0", "M": "pod web-0"}),
    ({"env": [{"name": "PATH", "value": "/opt/bin:$(PATH)"}]}, {"PATH": "/opt/bin:$(PATH)"}),
])
def test_container_env(container: dict, expected: dict):
    env, _ = envvars.container_env(POD, container, FACTS, SOURCES, base={"PATH": "/bin"})
    expected_full = {"PATH": "/bin", **expected}
    assert env == expected_full


def test_env_from_skips_invalid_names_with_a_warning():
    _, warnings = envvars.container_env(POD, {"envFrom": [{"configMapRef": {"name": "cfg"}}]}, FACTS, SOURCES)
    assert warnings == ["Keys [bad=key] from the EnvFrom configmap shop/cfg were skipped since they are "
                        "considered invalid environment variable names."]


@pytest.mark.parametrize("container,message", [
    ({"envFrom": [{"configMapRef": {"name": "absent"}}]}, 'configmap "absent" not found'),
    ({"envFrom": [{"secretRef": {"name": "gone"}}]}, 'secret "gone" not found'),
    ({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nope"}}}]},
     "couldn't find key nope in ConfigMap shop/cfg"),
    ({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "nope"}}}]},
     "couldn't find key nope in Secret shop/sec"),
])
def test_container_env_errors(container: dict, message: str):
    with pytest.raises(envvars.EnvError) as info:
        envvars.container_env(POD, container, FACTS, SOURCES)
    assert str(info.value) == message


def test_referenced_sources():
    container = {"envFrom": [{"configMapRef": {"name": "a"}}, {"secretRef": {"name": "b"}}],
                 "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
                         {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "d", "key": "k"}}},
                         {"name": "Z", "value": "v"}]}
    assert envvars.referenced_sources(container) == {("configmap", "a"), ("secret", "b"), ("configmap", "c"),
                                                     ("secret", "d")}


@pytest.mark.parametrize("entrypoint,cmd,container,expected", [
    ([], ["sh"], {}, ["sh"]),
    (["nginx"], ["-g", "daemon off;"], {}, ["nginx", "-g", "daemon off;"]),
    (["nginx"], ["-g", "daemon off;"], {"args": ["-T"]}, ["nginx", "-T"]),
    (["nginx"], ["-g"], {"command": ["sh"]}, ["sh"]),
    ([], ["sh"], {"command": ["echo"], "args": ["$(X)", "$$(X)"]}, ["echo", "1", "$(X)"]),
])
def test_command_line(entrypoint: list, cmd: list, container: dict, expected: list):
    assert envvars.command_line(entrypoint, cmd, container, {"X": "1"}) == expected


@pytest.mark.parametrize("image,expected", [
    ("nginx", "nginx"), ("nginx:1.17", "nginx"), ("docker.io/library/nginx:1.17", "nginx"),
    ("library/busybox", "busybox"), ("kbzjung359/kia-unhealthy", "kbzjung359/kia-unhealthy"),
    ("localhost:5000/team/app:v1", "team/app"), ("ghcr.io/org/tool@sha256:abc", "org/tool"),
    ("perl:5.34.0", "perl"),
])
def test_repository(image: str, expected: str):
    assert repository(image) == expected


def test_image_table_lookup_and_overrides():
    table = build_table({"kia-unhealthy": {"command": ["node", "app.js"]}, "busybox": {"args": ["true"]}}, "t.yaml")
    assert table.lookup("kbzjung359/kia-unhealthy:latest").command == ("node", "app.js")
    assert table.lookup("busybox:1.28").args == ("true",)
    assert table.lookup("alpine").args == ("sh",)
    assert table.lookup("redis") is None
    with pytest.raises(ValueError):
        build_table({"x": {"command": "not a list"}})


@pytest.mark.parametrize("results,thresholds,verdicts", [
    ([True, True, False, True], (1, 3), [True, True, None, True]),
    ([False, False, False, False], (1, 3), [None, None, False, False]),
    ([False, True, False, False, False], (1, 3), [None, True, None, None, False]),
    ([True, True, True], (2, 3), [None, True, True]),
    ([True, False, True, True], (2, 1), [None, False, None, True]),
])
def test_probe_counter(results: list, thresholds: tuple, verdicts: list):
    counter = ProbeCounter(*thresholds)
    assert [counter.observe(r) for r in results] == verdicts


def test_probe_spec_defaults():
    assert ProbeSpec.of({}) == ProbeSpec(0.0, 10.0, 1.0, 1, 3)
    assert ProbeSpec.of({"initialDelaySeconds": 5, "periodSeconds": 2, "timeoutSeconds": 3, "successThreshold": 2,
                         "failureThreshold": 1}) == ProbeSpec(5.0, 2.0, 3.0, 2, 1)


@pytest.mark.parametrize("port,expected", [(8080, 8080), ("8080", 8080), ("http", 80)])
def test_resolve_port(port, expected):
    assert resolve_port(port, {"name": "c", "ports": [{"name": "http", "containerPort": 80}]}) == expected


def test_resolve_port_unknown_name():
    with pytest.raises(ValueError, match="couldn't find port: grpc"):
        resolve_port("grpc", {"name": "c"})


@pytest.mark.parametrize("crashes,expected", [
    ([0, 1, 2, 5, 10], [0.0, 10.0, 20.0, 40.0, 80.0]),
    ([0] + [i * 0.001 for i in range(1, 9)], [0.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0, 300.0]),
])
def test_restart_backoff_doubles_to_five_minutes(crashes: list, expected: list):
    backoff = RestartBackoff()
    assert [backoff.next_delay(t) for t in crashes] == expected


def test_restart_backoff_resets_after_ten_minutes_of_running():
    backoff = RestartBackoff()
    assert [backoff.next_delay(0), backoff.next_delay(1), backoff.next_delay(20)] == [0.0, 10.0, 20.0]
    # last restart at 40 (20 + its 20 s wait); crashing 10 minutes and more after that starts over
    assert backoff.next_delay(40 + 601) == 0.0
    assert backoff.next_delay(642) == 10.0


@pytest.mark.parametrize("returncode,expected", [(0, 0), (1, 1), (-9, 137), (-15, 143), (3, 3)])
def test_exit_code_of(returncode: int, expected: int):
    assert exit_code_of(returncode) == expected


@pytest.mark.parametrize("seconds,expected", [
    (1767225600.0, "2026-01-01T00:00:00Z"),
    (1767225600.5, "2026-01-01T00:00:00.5Z"),
    (1767225600.123456789, "2026-01-01T00:00:00.123456717Z"),
    (1767225600.9999999999, "2026-01-01T00:00:01Z"),
])
def test_rfc3339_nano(seconds: float, expected: str):
    assert logfiles.rfc3339_nano(seconds) == expected


@pytest.mark.parametrize("text,seconds", [
    ("2026-01-01T00:00:00Z", 1767225600.0),
    ("2026-01-01T00:00:00.5Z", 1767225600.5),
    ("2026-01-01T01:00:00.25+01:00", 1767225600.25),
])
def test_parse_timestamp(text: str, seconds: float):
    assert logfiles.parse_timestamp(text) == pytest.approx(seconds)


TS = "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("data,lines,rest", [
    (b"hello\n", b"2026-01-01T00:00:00Z stdout F hello\n", b""),
    (b"a\nb\npart", b"2026-01-01T00:00:00Z stdout F a\n2026-01-01T00:00:00Z stdout F b\n", b"part"),
    (b"\n", b"2026-01-01T00:00:00Z stdout F \n", b""),
    (b"no newline", b"", b"no newline"),
])
def test_format_lines(data: bytes, lines: bytes, rest: bytes):
    assert logfiles.format_lines(data, "stdout", TS) == (lines, rest)


def test_long_lines_are_split_into_partials():
    data = b"x" * (logfiles.MAX_LINE + 5) + b"\n"
    lines, rest = logfiles.format_lines(data, "stderr", TS)
    parsed = logfiles.parse_lines(lines)
    assert [(line.partial, len(line.content)) for line in parsed] == [(True, logfiles.MAX_LINE), (False, 5)]
    assert logfiles.render(parsed, logfiles.LogQuery()) == data
    assert rest == b""


def _file(*entries: tuple[str, str, str, str]) -> list[logfiles.LogLine]:
    raw = b"".join(f"{ts} {stream} {tag} {content}\n".encode() for ts, stream, tag, content in entries)
    return logfiles.parse_lines(raw)


LOG = _file(("2026-01-01T00:00:01Z", "stdout", "F", "one"),
            ("2026-01-01T00:00:02Z", "stderr", "F", "two"),
            ("2026-01-01T00:00:03Z", "stdout", "P", "thr"),
            ("2026-01-01T00:00:03.5Z", "stdout", "F", "ee"),
            ("2026-01-01T00:00:04Z", "stdout", "F", "four"))


@pytest.mark.parametrize("query,expected", [
    (logfiles.LogQuery(), b"one\ntwo\nthree\nfour\n"),
    (logfiles.LogQuery(tail_lines=1), b"four\n"),
    (logfiles.LogQuery(tail_lines=2), b"three\nfour\n"),
    (logfiles.LogQuery(tail_lines=0), b""),
    (logfiles.LogQuery(tail_lines=10), b"one\ntwo\nthree\nfour\n"),
    (logfiles.LogQuery(since=1767225602.0), b"two\nthree\nfour\n"),
    (logfiles.LogQuery(since=1767225603.2), b"ee\nfour\n"),
    (logfiles.LogQuery(limit_bytes=5), b"one\nt"),
    (logfiles.LogQuery(timestamps=True, tail_lines=1), b"2026-01-01T00:00:04Z four\n"),
])
def test_select_and_render(query: logfiles.LogQuery, expected: bytes):
    assert logfiles.render(logfiles.select(LOG, query), query) == expected


def test_parse_line_rejects_garbage():
    assert logfiles.parse_line(b"not a cri line") is None
    assert logfiles.parse_line(b"2026-01-01T00:00:00Z stdout F ") == logfiles.LogLine(TS, "stdout", False, b"")


def _pod(containers: list[str], inits: list[str] = (), statuses: list[dict] = (), node: str = "n") -> dict:
    return {"metadata": {"name": "p"},
            "spec": {"nodeName": node, "containers": [{"name": n} for n in containers],
                     "initContainers": [{"name": n} for n in inits]},
            "status": {"containerStatuses": list(statuses)}}


@pytest.mark.parametrize("pod,name,expected", [
    (_pod(["a"]), "", "a"),
    (_pod(["a", "b"]), "b", "b"),
    (_pod(["a"], ["init"]), "init", "init"),
])
def test_choose_container(pod: dict, name: str, expected: str):
    assert podlogs.choose_container(pod, name) == expected


@pytest.mark.parametrize("pod,name,message", [
    (_pod(["a", "b"]), "", "a container name must be specified for pod p, choose one of: [a b]"),
    (_pod(["a", "b"], ["i"]), "", "a container name must be specified for pod p, choose one of: [a b] "
                                  "or one of the init containers: [i]"),
    (_pod(["a"]), "x", "container x is not valid for pod p"),
    (_pod(["a"], node=""), "a", "pod p does not have a host assigned"),
])
def test_choose_container_errors(pod: dict, name: str, message: str):
    with pytest.raises(StatusError) as info:
        podlogs.choose_container(pod, name)
    assert info.value.code == 400 and info.value.message == message


TERMINATED = {"terminated": {"exitCode": 1}}


@pytest.mark.parametrize("status,previous,expected", [
    ({"name": "a", "state": {"running": {}}, "restartCount": 0}, False, 0),
    ({"name": "a", "state": {"running": {}}, "restartCount": 2, "lastState": TERMINATED}, True, 1),
    ({"name": "a", "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "restartCount": 2,
      "lastState": TERMINATED}, True, 2),
    ({"name": "a", "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "restartCount": 2,
      "lastState": TERMINATED}, False, 2),
    ({"name": "a", "state": TERMINATED, "restartCount": 0}, False, 0),
])
def test_log_run(status: dict, previous: bool, expected: int):
    assert podlogs.log_run(_pod(["a"], statuses=[status]), "a", previous) == expected


@pytest.mark.parametrize("status,previous,message", [
    ({"name": "a", "state": {"running": {}}, "restartCount": 0}, True,
     'previous terminated container "a" in pod "p" not found'),
    ({"name": "a", "state": {"waiting": {"reason": "ContainerCreating"}}, "restartCount": 0}, False,
     'container "a" in pod "p" is waiting to start: ContainerCreating'),
    ({"name": "a", "state": {"waiting": {}}, "restartCount": 0}, False,
     'container "a" in pod "p" is waiting to start - no logs yet'),
])
def test_log_run_errors(status: dict, previous: bool, message: str):
    with pytest.raises(StatusError) as info:
        podlogs.log_run(_pod(["a"], statuses=[status]), "a", previous)
    assert info.value.message == message


@pytest.mark.parametrize("params,message", [
    ({"tailLines": "-1"}, "tailLines: Invalid value: -1: must be greater than or equal to 0"),
    ({"limitBytes": "0"}, "limitBytes: Invalid value: 0: must be greater than 0"),
    ({"sinceSeconds": "0"}, "sinceSeconds: Invalid value: 0: must be greater than 0"),
    ({"sinceSeconds": "5", "sinceTime": "2026-01-01T00:00:00Z"},
     "at most one of sinceTime or sinceSeconds may be specified"),
    ({"tailLines": "x"}, 'tailLines: Invalid value: "x": must be an integer'),
])
def test_parse_request_errors(params: dict, message: str):
    with pytest.raises(StatusError) as info:
        podlogs.parse_request(params, 1000.0)
    assert info.value.code == 400 and info.value.message == message


def test_parse_request():
    request = podlogs.parse_request({"container": "c", "follow": "true", "previous": "false", "sinceSeconds": "10",
                                     "timestamps": "true", "tailLines": "3", "limitBytes": "100"}, 1000.0)
    assert request == podlogs.LogRequest("c", True, False, logfiles.LogQuery(True, 3, 990.0, 100))
    since = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()
    assert podlogs.parse_request({"sinceTime": "2026-01-01T00:00:00Z"}, 0).query.since == since


@pytest.mark.parametrize("n, expect", [(1, "127.1.0.1"), (254, "127.1.0.254"), (255, "127.1.1.1"),
                                       (256 * 254, "127.1.255.254"), (256 * 254 + 1, "127.1.0.1")])
def test_loopback_address(n, expect):
    assert loopback_address(n) == expect


def test_loopback_addresses_are_unique_and_keep_a_reported_one():
    addresses = LoopbackAddresses()
    a, b = addresses.claim("ns/a"), addresses.claim("ns/b")
    assert (a, b) == ("127.1.0.1", "127.1.0.2") and addresses.claim("ns/a") == a
    assert addresses.claim("ns/c", reported="127.1.0.9") == "127.1.0.9"   # a restarted server keeps it
    assert addresses.claim("ns/d", reported="127.1.0.9") == "127.1.0.3"   # unless another pod has it
    addresses.release("ns/a")
    assert addresses.claim("ns/e", reported="127.1.0.1") == "127.1.0.1"


def test_start_time_is_what_psutil_reports_and_none_for_a_gone_process():
    import subprocess

    import psutil

    from tinykube.kubelet import procutil

    child = subprocess.Popen(["sleep", "30"])
    try:
        for pid in (os.getpid(), child.pid):
            assert abs(procutil.start_time(pid) - psutil.Process(pid).create_time()) < 0.01
    finally:
        child.kill()
        child.wait()
    assert procutil.start_time(child.pid) is None

"""Pod sandboxes on the process runtime, as a user meets them with the real kubectl.

Needs root on Linux (the agent then gives each pod network, UTS, IPC, mount and PID
namespaces, volumes at their mountPaths and cgroup limits); skipped otherwise. Checks go
through `kubectl logs` of pods that print what they see.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

from helpers import Cluster, create_namespace, running_cluster, wait_until, apply_manifest as apply

pytestmark = pytest.mark.skipif(not (sys.platform == "linux" and os.geteuid() == 0),
                                reason="pod sandboxes need root on Linux")

ARGS = ("--local-runtime", "process", "--time-scale", "10")


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("sandbox"), *ARGS) as c:
        yield c


@pytest.fixture
def ns(box: Cluster) -> str:
    return create_namespace(box)



def pod(c: Cluster, ns: str, name: str) -> dict:
    return json.loads(c.kubectl("get", "pod", name, "-n", ns, "-o", "json").stdout)


def wait_phase(c: Cluster, ns: str, name: str, phase: str, timeout: float = 40) -> dict:
    return wait_until(lambda: (p := pod(c, ns, name))["status"].get("phase") == phase and p, timeout, 0.2)


def logs(c: Cluster, ns: str, name: str, *args: str) -> str:
    return c.kubectl("logs", name, "-n", ns, *args).stdout


def event_messages(c: Cluster, ns: str, name: str) -> set[str]:
    out = c.kubectl("get", "events", "-n", ns, "--field-selector", f"involvedObject.name={name}", "-o", "json")
    return {f"{e['reason']}: {e['message']}" for e in json.loads(out.stdout)["items"]}


def pod_netns(c: Cluster, ns: str, name: str) -> str:
    """The network namespace of a pod's container, as `readlink /proc/self/ns/net` shows it there."""
    return c.kubectl("exec", name, "-n", ns, "--", "readlink", "/proc/self/ns/net").stdout.strip()


def network_namespaces() -> set[str]:
    """Every network namespace a process on this machine is in (net:[inode])."""
    return set(processes_by_netns())


def processes_by_netns() -> dict[str, list[psutil.Process]]:
    found: dict[str, list[psutil.Process]] = {}
    for proc in psutil.process_iter():
        try:
            found.setdefault(os.readlink(f"/proc/{proc.pid}/ns/net"), []).append(proc)
        except (OSError, psutil.Error):
            pass
    return found


def alive(proc: psutil.Process) -> bool:
    """Running and not a zombie (an orphan's zombie waits for this machine's init to reap it)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def sleeper(name: str) -> str:
    return f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: {name}}}
    spec:
      containers: [{{name: c, image: busybox, command: ["sleep", "3600"]}}]
    """


def links() -> str:
    return subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout


def test_the_node_says_how_pods_are_isolated(box: Cluster):
    node = json.loads(box.kubectl("get", "nodes", "-o", "json").stdout)["items"][0]["metadata"]["name"]
    out = box.kubectl("get", "events", "-A", "--field-selector", f"involvedObject.name={node}", "-o", "json")
    reasons = {e["reason"]: e["message"] for e in json.loads(out.stdout)["items"]}
    assert "PodSandboxes" in reasons and "bridge tinykube0" in reasons["PodSandboxes"]


def test_hostname_pid_namespace_and_hosts_file(box: Cluster, ns: str):
    apply(box, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: web-0}
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: busybox
        command: ["sh", "-c", "hostname; echo pid=$$$$; echo env=$HOSTNAME; ps -e -o comm=; tail -1 /etc/hosts"]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: named}
    spec:
      restartPolicy: Never
      hostname: db
      subdomain: backend
      containers:
      - name: c
        image: busybox
        command: ["sh", "-c", "hostname; tail -1 /etc/hosts"]
    """)
    p = wait_phase(box, ns, "web-0", "Succeeded")
    lines = logs(box, ns, "web-0").splitlines()
    assert lines[0] == "web-0" and lines[2] == "env=web-0"
    assert int(lines[1].removeprefix("pid=")) < 10  # a low PID in the pod's own PID namespace
    processes = lines[3:-1]
    assert set(processes) <= {"pause", "sh", "ps"} and "ps" in processes  # the pod's only
    assert lines[-1] == f"{p['status']['podIP']}\tweb-0"
    q = wait_phase(box, ns, "named", "Succeeded")
    assert logs(box, ns, "named").splitlines() == ["db", f"{q['status']['podIP']}\tdb.backend.{ns}.svc.cluster.local\tdb"]


def test_three_replicas_listen_on_all_addresses_port_80(box: Cluster, ns: str):
    """Each pod has its own network: three servers bound to 0.0.0.0:80 all run."""
    apply(box, ns, """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - name: web
            image: python:3.12
            command: ["sh", "-c", "hostname > /srv/index.html; exec python3 -m http.server 80 --bind 0.0.0.0 -d /srv"]
            volumeMounts: [{name: srv, mountPath: /srv}]
            readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}
          volumes: [{name: srv, emptyDir: {}}]
    """)
    box.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=90s", timeout=120)
    pods = json.loads(box.kubectl("get", "pods", "-n", ns, "-l", "app=web", "-o", "json").stdout)["items"]
    by_ip = {p["status"]["podIP"]: p["metadata"]["name"] for p in pods}
    assert len(by_ip) == 3 and all(ip.startswith("10.244.") for ip in by_ip)
    for ip, name in by_ip.items():  # from the host, each answers as itself
        assert urllib.request.urlopen(f"http://{ip}:80/", timeout=5).read().decode().strip() == name
    # and from one pod to another across the bridge
    other_ip = sorted(by_ip)[1]
    apply(box, ns, f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: client}}
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: python:3.12
        command: ["python3", "-c", "import urllib.request; print(urllib.request.urlopen('http://{other_ip}/').read().decode())"]
    """)
    wait_phase(box, ns, "client", "Succeeded")
    assert logs(box, ns, "client").strip() == by_ip[other_ip]
    assert all(r.split()[3] == "0" for r in box.kubectl("get", "pods", "-n", ns, "-l", "app=web",
                                                       "--no-headers").stdout.splitlines())


def test_nginx_answers_on_localhost_inside_its_pod(box: Cluster, ns: str):
    """As with the real image: `kubectl exec web -- curl localhost` inside the pod, and the pod IP
    from outside, both reach the nginx stand-in."""
    apply(box, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: web}
    spec:
      containers: [{name: web, image: nginx:1.25}]
    """)
    box.kubectl("wait", "--for=condition=Ready", "pod/web", "-n", ns, "--timeout=60s", timeout=90)
    inside = box.kubectl("exec", "web", "-n", ns, "--", "python3", "-c",
                         "import urllib.request; print(urllib.request.urlopen('http://localhost/').read().decode())")
    assert "Welcome to nginx!" in inside.stdout
    ip = box.kubectl("get", "pod", "web", "-n", ns, "-o", "jsonpath={.status.podIP}").stdout
    assert "Welcome to nginx!" in urllib.request.urlopen(f"http://{ip}/", timeout=5).read().decode()


def test_containers_share_an_empty_dir(box: Cluster, ns: str):
    apply(box, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: shared}
    spec:
      containers:
      - name: writer
        image: busybox
        command: ["sh", "-c", "echo from-writer > /out/msg; echo cached > /cache/x; sleep 3600"]
        volumeMounts: [{name: data, mountPath: /out}, {name: mem, mountPath: /cache}]
      - name: reader
        image: busybox
        command: ["sh", "-c", "until [ -f /in/msg ]; do sleep 0.1; done; cat /in/msg; grep ' /in ' /proc/mounts | wc -l; grep -c ' /out ' /proc/mounts; awk '$2 == \\"/cache\\" {print $3}' /proc/mounts; cat /cache/x; sleep 3600"]
        volumeMounts: [{name: data, mountPath: /in}, {name: mem, mountPath: /cache}]
      volumes:
      - {name: data, emptyDir: {}}
      - {name: mem, emptyDir: {medium: Memory}}
    """)
    wait_phase(box, ns, "shared", "Running")
    # the reader sees the writer's file; its own mount is at /in only (the writer's /out is not its)
    assert wait_until(lambda: logs(box, ns, "shared", "-c", "reader") == "from-writer\n1\n0\ntmpfs\ncached\n", 20, 0.3)


def test_config_map_secret_and_downward_api_files(box: Cluster, ns: str):
    box.kubectl("create", "configmap", "settings", "-n", ns, "--from-literal=a=alpha", "--from-literal=b=beta")
    box.kubectl("create", "secret", "generic", "creds", "-n", ns, "--from-literal=pw=s3cret")
    apply(box, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: files, labels: {app: shop, tier: web}}
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: busybox
        resources: {limits: {memory: 64Mi}}
        command: ["sh", "-c", "cat /cfg/a; echo; ls /cfg; stat -c %a /cfg/sub/b; cat /sec/pw; echo; stat -c %a /sec/pw; cat /info/labels; echo; cat /info/name; echo; cat /info/mem; echo; ls /proj; cat /proj/name; echo; cat /one/b; echo; touch /cfg/new 2>/dev/null || echo read-only"]
        volumeMounts:
        - {name: cfg, mountPath: /cfg}
        - {name: sec, mountPath: /sec}
        - {name: info, mountPath: /info}
        - {name: proj, mountPath: /proj}
        - {name: whole, mountPath: /one/b, subPath: b}
      volumes:
      - name: cfg
        configMap: {name: settings, items: [{key: a, path: a}, {key: b, path: sub/b, mode: 0600}]}
      - name: sec
        secret: {secretName: creds, defaultMode: 0400}
      - name: info
        downwardAPI:
          items:
          - {path: labels, fieldRef: {fieldPath: metadata.labels}}
          - {path: name, fieldRef: {fieldPath: metadata.name}}
          - {path: mem, resourceFieldRef: {containerName: c, resource: limits.memory, divisor: 1Mi}}
      - name: proj
        projected:
          sources:
          - configMap: {name: settings, items: [{key: a, path: cm-a}]}
          - secret: {name: creds}
          - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
          - configMap: {name: absent, optional: true}
      - name: whole
        configMap: {name: settings}
    """)
    wait_phase(box, ns, "files", "Succeeded")
    assert logs(box, ns, "files").splitlines() == [
        "alpha", "a", "sub", "600", "s3cret", "400", 'app="shop"', 'tier="web"', "files", "64",
        "cm-a", "name", "pw", "files", "beta", "read-only"]


def test_missing_config_map_volume_waits_with_failed_mount(box: Cluster, ns: str):
    apply(box, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: waits}
    spec:
      containers:
      - name: c
        image: busybox
        command: ["sh", "-c", "cat /cfg/k; echo; sleep 3600"]
        volumeMounts: [{name: cfg, mountPath: /cfg}]
      volumes: [{name: cfg, configMap: {name: later}}]
    """)
    message = 'FailedMount: MountVolume.SetUp failed for volume "cfg" : configmap "later" not found'
    wait_until(lambda: message in event_messages(box, ns, "waits"), 40, 0.3)
    row = box.kubectl("get", "pod", "waits", "-n", ns, "--no-headers").stdout.split()
    assert row[1:3] == ["0/1", "ContainerCreating"]
    box.kubectl("create", "configmap", "later", "-n", ns, "--from-literal=k=now")
    wait_phase(box, ns, "waits", "Running")
    assert wait_until(lambda: logs(box, ns, "waits") == "now\n", 20, 0.3), logs(box, ns, "waits")


def test_host_path_and_persistent_volume_claim(box: Cluster, ns: str, tmp_path: Path):
    host_dir, pv_dir = tmp_path / "made-by-kubelet", tmp_path / "pv"
    pv_dir.mkdir()
    (pv_dir / "seed").write_text("on the volume\n")
    apply(box, ns, f"""
    apiVersion: v1
    kind: PersistentVolume
    metadata: {{name: pv-{ns}}}
    spec:
      capacity: {{storage: 1Gi}}
      accessModes: [ReadWriteOnce]
      hostPath: {{path: {pv_dir}}}
    ---
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {{name: claim}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 1Gi}}}}
      volumeName: pv-{ns}
      storageClassName: ""
    ---
    apiVersion: v1
    kind: Pod
    metadata: {{name: disks}}
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: busybox
        command: ["sh", "-c", "echo hi > /host/out; cat /vol/seed; echo kept > /vol/new"]
        volumeMounts: [{{name: host, mountPath: /host}}, {{name: vol, mountPath: /vol}}]
      volumes:
      - {{name: host, hostPath: {{path: {host_dir}, type: DirectoryOrCreate}}}}
      - {{name: vol, persistentVolumeClaim: {{claimName: claim}}}}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {{name: nodir}}
    spec:
      containers:
      - name: c
        image: busybox
        command: ["sleep", "3600"]
        volumeMounts: [{{name: host, mountPath: /host}}]
      volumes:
      - {{name: host, hostPath: {{path: {tmp_path / "absent"}, type: Directory}}}}
    ---
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {{name: unbound}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 1Gi}}}}
      storageClassName: none-such
    ---
    apiVersion: v1
    kind: Pod
    metadata: {{name: unbound-user}}
    spec:
      containers:
      - name: c
        image: busybox
        command: ["sleep", "3600"]
        volumeMounts: [{{name: vol, mountPath: /vol}}]
      volumes:
      - {{name: vol, persistentVolumeClaim: {{claimName: unbound}}}}
    """)
    wait_phase(box, ns, "disks", "Succeeded")
    assert logs(box, ns, "disks") == "on the volume\n"
    assert (host_dir / "out").read_text() == "hi\n" and (pv_dir / "new").read_text() == "kept\n"
    wait_until(lambda: f'FailedMount: MountVolume.SetUp failed for volume "host" : hostPath type check failed: '
                       f'{tmp_path / "absent"} is not a directory' in event_messages(box, ns, "nodir"), 20, 0.3)
    # a claim that cannot bind keeps its pod from being scheduled at all, as upstream's scheduler does
    wait_until(lambda: any(m.startswith("FailedScheduling: ") and "pod has unbound immediate PersistentVolumeClaims" in m
                           for m in event_messages(box, ns, "unbound-user")), 20, 0.3)
    box.kubectl("delete", "pv", f"pv-{ns}", "--wait=false")


def test_memory_limit_kills_with_oom_killed(box: Cluster, ns: str):
    apply(box, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: hog}
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: python:3.12
        command: ["python3", "-c", "print('allocating', flush=True); b = b'x' * (300 << 20); print('survived')"]
        resources: {limits: {memory: 50Mi}}
    """)
    p = wait_phase(box, ns, "hog", "Failed")
    terminated = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)
    assert logs(box, ns, "hog") == "allocating\n"
    row = box.kubectl("get", "pod", "hog", "-n", ns, "--no-headers").stdout.split()
    assert row[2] == "OOMKilled"


def test_deleted_pod_leaves_no_namespace_or_veth(box: Cluster, ns: str):
    from tinykube.kubelet.sandbox.sandbox import veth_name

    apply(box, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: brief}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: busybox, command: ["sleep", "3600"]}]
    """)
    p = wait_phase(box, ns, "brief", "Running")
    veth = veth_name(p["metadata"]["uid"])
    netns = pod_netns(box, ns, "brief")
    assert veth in links() and netns in network_namespaces()
    box.kubectl("delete", "pod", "brief", "-n", ns, timeout=60)
    wait_until(lambda: veth not in links() and netns not in network_namespaces(), 20, 0.2)


def test_restarted_agent_removes_sandboxes_left_behind(tmp_path: Path):
    from helpers import new_cluster
    from tinykube.kubelet.sandbox.sandbox import veth_name

    c = new_cluster(tmp_path)
    c.start(ARGS)
    ns = create_namespace(c)
    apply(c, ns, sleeper("left"))
    p = wait_phase(c, ns, "left", "Running")
    veth = veth_name(p["metadata"]["uid"])
    in_pod = processes_by_netns()[pod_netns(c, ns, "left")]
    c.stop(signal.SIGKILL)  # no chance to clean up
    assert veth in links() and all(alive(p) for p in in_pod)
    c.start(ARGS)
    try:
        # the old sandbox goes, and the pod gets a new one with the address it had
        def renewed():
            status = pod(c, ns, "left")["status"]
            return status["containerStatuses"][0].get("restartCount") == 1 and "running" in \
                status["containerStatuses"][0]["state"] and status
        status = wait_until(renewed, 40, 0.3)
        assert status["podIP"] == p["status"]["podIP"]
        # the old sandbox is gone, its namespace with it (a killed PID 1 takes its namespace's processes along)
        wait_until(lambda: not any(alive(p) for p in in_pod), 10, 0.1)
        assert veth in links()  # the same pod's veth name, made anew
        renewed_netns = pod_netns(c, ns, "left")
        c.kubectl("delete", "pod", "left", "-n", ns, "--grace-period=1", timeout=60)
        wait_until(lambda: veth not in links() and renewed_netns not in network_namespaces(), 20, 0.2)
    finally:
        c.stop()


def test_exec_probe_runs_inside_the_container(box: Cluster, ns: str):
    """The probe sees the container's hostname and its volume (a file that exists nowhere on the host)."""
    apply(box, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: inside}
    spec:
      containers:
      - name: c
        image: busybox
        command: ["sh", "-c", "sleep 1; echo yes > /state-of-inside/ready; sleep 3600"]
        volumeMounts: [{name: state, mountPath: /state-of-inside}]
        readinessProbe:
          exec: {command: ["sh", "-c", "test \\"$(hostname)\\" = inside && cat /state-of-inside/ready"]}
          periodSeconds: 1
      volumes: [{name: state, emptyDir: {}}]
    """)
    wait_until(lambda: {c["type"]: c["status"] for c in pod(box, ns, "inside")["status"].get("conditions", [])}
               .get("Ready") == "True", 40, 0.3)
    assert not Path("/state-of-inside/ready").exists()


def test_without_sandboxes_pods_run_on_the_host(tmp_path: Path):
    """--pod-sandbox off (as without root): loopback pod IPs, host hostname, and the node says so."""
    import socket

    with running_cluster(tmp_path, *ARGS, "--pod-sandbox", "off") as c:
        ns = create_namespace(c)
        apply(c, ns, """
        apiVersion: v1
        kind: Pod
        metadata: {name: plain}
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox, command: ["hostname"]}]
        """)
        p = wait_phase(c, ns, "plain", "Succeeded")
        assert p["status"]["podIP"].startswith("127.1.")
        assert logs(c, ns, "plain") == socket.gethostname() + "\n"
        out = c.kubectl("get", "events", "-A", "--field-selector", "reason=NoPodIsolation", "-o", "json")
        messages = [e["message"] for e in json.loads(out.stdout)["items"]]
        assert messages and "volumes are not mounted at their mountPath" in messages[0]


def fork_servers(c: Cluster) -> list[int]:
    """The server's pod fork server (its direct child running forkserver.py)."""
    assert c.process is not None
    return [p.pid for p in psutil.Process(c.process.pid).children() if "forkserver.py" in " ".join(p.cmdline())]


def test_a_dead_fork_server_is_replaced_and_its_containers_restart(tmp_path: Path):
    """The fork server started the pod's processes; killed, it takes them along (the agent can no
    longer learn how they exit), they are reported killed (137) and restarted by a new one."""
    from helpers import new_cluster

    c = new_cluster(tmp_path)
    c.start(ARGS)
    try:
        ns = create_namespace(c)
        apply(c, ns, sleeper("survivor"))
        wait_phase(c, ns, "survivor", "Running")
        [first] = fork_servers(c)
        os.kill(first, signal.SIGKILL)

        def restarted():
            status = pod(c, ns, "survivor")["status"]["containerStatuses"][0]
            return status["restartCount"] == 1 and "running" in status["state"] and status
        status = wait_until(restarted, 60, 0.2)
        assert status["lastState"]["terminated"]["exitCode"] == 137
        assert fork_servers(c) not in ([], [first])
        assert c.kubectl("exec", "survivor", "-n", ns, "--", "hostname").stdout.strip() == "survivor"
        assert any("the pod fork server ended" in line for line in c.output)
        out = c.kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=survivor", "-o", "json")
        assert "SandboxChanged" in {e["reason"] for e in json.loads(out.stdout)["items"]}
    finally:
        c.stop()


def test_a_container_starts_with_default_signal_dispositions(box: Cluster, ns: str):
    """Python ignores SIGPIPE; a container started from Python code must not inherit that
    (`yes | head -1` would print "Broken pipe" errors instead of ending quietly)."""
    apply(box, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: signals}
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: ["sh", "-c", "grep SigIgn /proc/self/status; yes | head -n 1"]}]
    """)
    wait_phase(box, ns, "signals", "Succeeded")
    out = logs(box, ns, "signals")
    ignored = int(out.split()[1], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1)) and out.split()[2:] == ["y"], out


def test_a_pod_network_is_ipv4_only(box: Cluster, ns: str):
    """IPv6 is off in the pod's network namespace (its eth0 sends no multicast listener reports
    for the bridge to flood to every other pod), and the host keeps its own setting."""
    host_setting = Path("/proc/sys/net/ipv6/conf/all/disable_ipv6")
    before = host_setting.read_text() if host_setting.exists() else None
    apply(box, ns, sleeper("v4"))
    p = wait_phase(box, ns, "v4", "Running")
    shown = box.kubectl("exec", "v4", "-n", ns, "--", "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6",
                        "/proc/sys/net/ipv6/conf/eth0/disable_ipv6")
    if before is None:
        pytest.skip("this kernel has no IPv6")
    assert shown.stdout.split() == ["1", "1"], shown.stderr
    addresses = box.kubectl("exec", "v4", "-n", ns, "--", "ip", "-o", "addr", "show", "dev", "eth0").stdout
    assert f"inet {p['status']['podIP']}/" in addresses and "inet6" not in addresses
    assert host_setting.read_text() == before


def test_pod_state_lives_in_memory_and_goes_with_the_server(tmp_path: Path):
    """Pid files and the sandbox's state are under /dev/shm (named after the data dir), logs on
    disk under the data dir; a server that stops removes its state directory."""
    from helpers import new_cluster
    from tinykube.kubelet.statedir import state_root

    c = new_cluster(tmp_path)
    c.start(ARGS)
    try:
        ns = create_namespace(c)
        apply(c, ns, sleeper("kept"))
        p = wait_phase(c, ns, "kept", "Running")
        state = state_root(c.data_dir / "pods")
        assert state.parent == Path("/dev/shm")
        pod_dir = f"{ns}_kept_{p['metadata']['uid']}"
        pid = int((state / pod_dir / "c" / "pid").read_text().split()[0])
        assert psutil.Process(pid).cmdline() == ["sleep", "3600"]
        assert json.loads((state / pod_dir / "_sandbox" / "state.json").read_text())["uid"] == p["metadata"]["uid"]
        assert (c.data_dir / "pods" / pod_dir / "c" / "0.log").is_file()
    finally:
        assert c.stop(signal.SIGTERM) == 0
    assert not state.exists()


def test_a_killed_sandbox_is_made_anew_and_its_containers_restart(box: Cluster, ns: str):
    """The pod's PID 1 (its pause process, the fork server's own child) killed: the kernel ends
    the pod's containers with it, and the pod gets a new sandbox (SandboxChanged) with its address."""
    from tinykube.kubelet.statedir import state_root

    apply(box, ns, sleeper("phoenix"))
    p = wait_phase(box, ns, "phoenix", "Running")
    state = state_root(box.data_dir / "pods") / f"{ns}_phoenix_{p['metadata']['uid']}" / "_sandbox" / "state.json"
    pause = psutil.Process(json.loads(state.read_text())["pid"])
    assert pause.name() == "pause"
    pause.kill()

    def restarted():
        status = pod(box, ns, "phoenix")["status"]
        container = status["containerStatuses"][0]
        return container["restartCount"] >= 1 and "running" in container["state"] and status
    status = wait_until(restarted, 60, 0.2)
    assert status["podIP"] == p["status"]["podIP"]
    assert "SandboxChanged: Pod sandbox changed, it will be killed and re-created." in event_messages(box, ns, "phoenix")
    assert box.kubectl("exec", "phoenix", "-n", ns, "--", "hostname").stdout.strip() == "phoenix"
    renewed = json.loads(state.read_text())["pid"]
    assert renewed != pause.pid and psutil.Process(renewed).name() == "pause"

"""The real kubectl against a real server: the everyday commands of the seeds' sessions."""

from __future__ import annotations

import json
import os
import stat
import textwrap
import time

import httpx
import pytest
import yaml

from helpers import Cluster, wait_until

DEPLOYMENT = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: nginx-deployment
      labels:
        app: nginx
        tier: web
    spec:
      replicas: 3
      selector:
        matchLabels:
          app: nginx
      template:
        metadata:
          labels:
            app: nginx
        spec:
          containers:
          - name: nginx
            image: nginx:1.14.2
            ports:
            - containerPort: 80
    """)


def table(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_health_version_and_auth(cluster: Cluster) -> None:
    assert stat.S_IMODE(os.stat(cluster.kubeconfig).st_mode) == 0o600
    with cluster.http(authenticated=False) as anon:
        for path in ("/livez", "/readyz", "/healthz"):
            assert anon.get(path).text == "ok"
        version = anon.get("/version").json()
        anonymous = anon.get("/api/v1/namespaces")
        wrong = anon.get("/api/v1/namespaces", headers={"Authorization": "Bearer nope"})
    assert version["major"] == "1" and version["minor"] == "33"
    assert anonymous.status_code == 401
    assert anonymous.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert wrong.status_code == 401
    with cluster.http() as c:
        assert c.get("/api/v1/namespaces").status_code == 200
    with pytest.raises(httpx.ConnectError):  # the server's certificate is signed by the cluster CA only
        httpx.get(cluster.url + "/version")


def test_system_namespaces_and_default_service_account(cluster: Cluster, ns: str) -> None:
    names = {row[0] for row in table(cluster.kubectl("get", "ns").stdout)[1:]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease", ns} <= names
    header = table(cluster.kubectl("get", "ns").stdout)[0]
    assert header == ["NAME", "STATUS", "AGE"]
    wait_until(lambda: cluster.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0)


def test_create_deployment_like_the_seeds(cluster: Cluster, ns: str) -> None:
    out = cluster.kubectl("create", "deployment", "msa-web", "--image=nginx:1.17", "--port=80", "--replicas=2",
                          "-n", ns).stdout
    assert out.strip() == "deployment.apps/msa-web created"
    rows = table(cluster.kubectl("get", "deploy", "-n", ns).stdout)
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[1][0] == "msa-web"
    wait_until(lambda: table(cluster.kubectl("get", "deploy", "-n", ns).stdout)[1][:4] == ["msa-web", "2/2", "2", "2"],
               30, 0.2)
    wide = table(cluster.kubectl("get", "deploy", "-n", ns, "-o", "wide").stdout)
    assert wide[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1][-3:] == ["nginx", "nginx:1.17", "app=msa-web"]
    obj = yaml.safe_load(cluster.kubectl("get", "deploy", "msa-web", "-n", ns, "-o", "yaml").stdout)
    spec = obj["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    container = spec["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] == 30
    assert obj["metadata"]["generation"] == 1 and obj["metadata"]["uid"]
    image = cluster.kubectl("get", "deploy", "msa-web", "-n", ns,
                            "-o=jsonpath={.spec.template.spec.containers[0].image}").stdout
    assert image == "nginx:1.17"


def test_apply_three_way_merge(cluster: Cluster, ns: str) -> None:
    assert "created" in cluster.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOYMENT).stdout
    # someone else adds an annotation; the manifest drops a label and changes replicas
    cluster.kubectl("annotate", "deploy", "nginx-deployment", "-n", ns, "owner=team-a")
    changed = DEPLOYMENT.replace("    tier: web\n", "").replace("replicas: 3", "replicas: 4")
    assert "configured" in cluster.kubectl("apply", "-n", ns, "-f", "-", input=changed).stdout
    obj = yaml.safe_load(cluster.kubectl("get", "deploy", "nginx-deployment", "-n", ns, "-o", "yaml").stdout)
    assert obj["metadata"]["labels"] == {"app": "nginx"}
    assert obj["metadata"]["annotations"]["owner"] == "team-a"
    assert obj["spec"]["replicas"] == 4
    assert obj["metadata"]["generation"] == 2
    assert "unchanged" in cluster.kubectl("apply", "-n", ns, "-f", "-", input=changed).stdout


def test_labels_annotations_and_selectors(cluster: Cluster, ns: str) -> None:
    for name, app in (("a", "hostname"), ("b", "hostname"), ("c", "other")):
        cluster.kubectl("run", name, "--image=nginx", f"--labels=app={app}", "-n", ns)
    assert cluster.kubectl("label", "pods", "a", "type=error", "-n", ns).stdout.strip() == "pod/a labeled"
    failed = cluster.kubectl("label", "pods", "a", "app=deprec", "-n", ns, check=False)
    assert failed.returncode != 0 and "already has a value (hostname)" in failed.stderr
    cluster.kubectl("label", "pods", "a", "app=deprec", "--overwrite", "-n", ns)
    rows = table(cluster.kubectl("get", "pods", "--show-labels", "-n", ns).stdout)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "LABELS"]
    labels = {r[0]: r[-1] for r in rows[1:]}
    assert labels["a"] == "app=deprec,type=error"
    rows = table(cluster.kubectl("get", "pods", "-L", "app", "-n", ns).stdout)
    assert rows[0][-1] == "APP" and {r[0]: r[-1] for r in rows[1:]}["c"] == "other"
    selected = table(cluster.kubectl("get", "pods", "-l", "app in (hostname,other)", "-n", ns).stdout)
    assert sorted(r[0] for r in selected[1:]) == ["b", "c"]
    none = cluster.kubectl("get", "pods", "-l", "app=nothing", "-n", ns)
    assert none.stdout == "" and "No resources found" in none.stderr
    bad = cluster.kubectl("get", "pods", "-l", "app in (", "-n", ns, check=False)
    assert bad.returncode != 0
    cluster.kubectl("annotate", "pod", "b", "note=hello", "-n", ns)
    anno = cluster.kubectl("get", "pod", "b", "-n", ns, "-o=jsonpath={.metadata.annotations.note}").stdout
    assert anno == "hello"
    phase = table(cluster.kubectl("get", "pods", "--field-selector", "metadata.name=c", "-n", ns).stdout)
    assert [r[0] for r in phase[1:]] == ["c"]
    unsupported = cluster.kubectl("get", "pods", "--field-selector", "spec.bogus=x", "-n", ns, check=False)
    assert "field label not supported: spec.bogus" in unsupported.stderr


def test_patch_kinds_set_image_and_scale(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "deployment", "msa-web", "--image=nginx:1.17", "--replicas=2", "-n", ns)
    cluster.kubectl("patch", "deploy", "msa-web", "-n", ns, "-p", '{"spec": {"minReadySeconds": 10}}')
    cluster.kubectl("patch", "deploy", "msa-web", "-n", ns, "--type=merge", "-p",
                    '{"metadata": {"labels": {"team": "a"}}}')
    cluster.kubectl("patch", "deploy", "msa-web", "-n", ns, "--type=json", "-p",
                    '[{"op": "replace", "path": "/spec/revisionHistoryLimit", "value": 3}]')
    cluster.kubectl("set", "image", "deploy", "msa-web", "nginx=nginx:1.19", "-n", ns)
    assert cluster.kubectl("scale", "deployment", "msa-web", "--replicas=6", "-n", ns).stdout.strip() == \
        "deployment.apps/msa-web scaled"
    obj = yaml.safe_load(cluster.kubectl("get", "deploy", "msa-web", "-n", ns, "-o", "yaml").stdout)
    spec = obj["spec"]
    assert spec["minReadySeconds"] == 10 and spec["revisionHistoryLimit"] == 3 and spec["replicas"] == 6
    assert obj["metadata"]["labels"]["team"] == "a"
    assert spec["template"]["spec"]["containers"][0]["image"] == "nginx:1.19"
    bad = cluster.kubectl("patch", "deploy", "msa-web", "-n", ns, "--type=json", "-p",
                          '[{"op": "test", "path": "/spec/replicas", "value": 99}]', check=False)
    assert bad.returncode != 0
    after = yaml.safe_load(cluster.kubectl("get", "deploy", "msa-web", "-n", ns, "-o", "yaml").stdout)
    # the controller keeps writing status; the refused patch changed neither spec nor generation
    assert after["spec"] == spec and after["metadata"]["generation"] == obj["metadata"]["generation"]


def test_edit_with_editor(cluster: Cluster, ns: str, tmp_path) -> None:
    cluster.kubectl("create", "deployment", "mydeploy", "--image=nginx", "--replicas=10", "-n", ns)
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/replicas: 10/replicas: 3/' \"$1\"\n")
    editor.chmod(0o755)
    out = cluster.kubectl("edit", "deploy", "mydeploy", "-n", ns, env={"EDITOR": str(editor), "KUBE_EDITOR": str(editor)})
    assert out.stdout.strip() == "deployment.apps/mydeploy edited"
    assert cluster.kubectl("get", "deploy", "mydeploy", "-n", ns, "-o=jsonpath={.spec.replicas}").stdout == "3"


def test_get_all_and_short_names(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "deployment", "web", "--image=nginx", "-n", ns)
    cluster.kubectl("create", "job", "pi", "--image=perl:5.34.0", "-n", ns, "--", "perl", "-e", "print 1")
    cluster.kubectl("create", "cronjob", "hello", "--image=busybox", "--schedule=*/1 * * * *", "-n", ns)
    out = cluster.kubectl("get", "all", "-n", ns).stdout
    assert "deployment.apps/web" in out and "job.batch/pi" in out and "cronjob.batch/hello" in out
    rows = table(cluster.kubectl("get", "cj", "-n", ns).stdout)
    assert rows[0] == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    rows = table(cluster.kubectl("get", "deploy,rs,po", "-n", ns).stdout)
    assert rows[0][:2] == ["NAME", "READY"]
    jobs = table(cluster.kubectl("get", "jobs", "-n", ns).stdout)
    assert jobs[0] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]


def test_describe(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "deployment", "web", "--image=nginx:1.17", "-n", ns)
    out = cluster.kubectl("describe", "deployment", "web", "-n", ns).stdout
    assert "Name:" in out and "StrategyType:           RollingUpdate" in out
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in out
    cluster.kubectl("run", "solo", "--image=nginx", "-n", ns)
    assert "Image:" in cluster.kubectl("describe", "pod", "solo", "-n", ns).stdout


def test_explain(cluster: Cluster) -> None:
    out = cluster.kubectl("explain", "deployment.spec.strategy.rollingUpdate").stdout
    assert "maxSurge" in out and "maxUnavailable" in out
    assert "podManagementPolicy" in cluster.kubectl("explain", "statefulset.spec").stdout


def test_invalid_manifests_print_upstream_errors(cluster: Cluster, ns: str) -> None:
    mismatch = DEPLOYMENT.replace("      labels:\n        app: nginx\n    spec:\n      containers",
                                  "      labels:\n        app: web\n    spec:\n      containers")
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=mismatch, check=False)
    assert out.returncode != 0
    assert 'The Deployment "nginx-deployment" is invalid: spec.template.metadata.labels: Invalid value: ' \
           'map[string]string{"app":"web"}: `selector` does not match template `labels`' in out.stderr
    typo = DEPLOYMENT.replace("  replicas: 3", "  replicas: 3\n  replicaz: 2")
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=typo, check=False)
    assert out.returncode != 0 and 'unknown field "spec.replicaz"' in out.stderr
    bad_name = DEPLOYMENT.replace("name: nginx-deployment", "name: Nginx_Deployment")
    out = cluster.kubectl("create", "-n", ns, "-f", "-", input=bad_name, check=False)
    assert out.returncode != 0 and 'metadata.name: Invalid value: "Nginx_Deployment"' in out.stderr
    quoted = DEPLOYMENT.replace("replicas: 3", 'replicas: "3"')
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=quoted, check=False)
    assert out.returncode != 0
    assert ('Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" cannot be '
            'handled as a Deployment: json: cannot unmarshal string into Go struct field '
            'DeploymentSpec.spec.replicas of type int32') in out.stderr, out.stderr
    assert cluster.kubectl("get", "deploy", "-n", ns).stdout == ""


def test_delete_and_not_found(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "configmap", "cfg", "--from-literal=a=b", "-n", ns)
    assert cluster.kubectl("delete", "cm", "cfg", "-n", ns).stdout.strip() == 'configmap "cfg" deleted'
    missing = cluster.kubectl("get", "cm", "cfg", "-n", ns, check=False)
    assert missing.returncode != 0
    assert 'Error from server (NotFound): configmaps "cfg" not found' in missing.stderr
    missing_ns = cluster.kubectl("create", "cm", "x", "-n", "no-such-ns", check=False)
    assert 'namespaces "no-such-ns" not found' in missing_ns.stderr


def test_watch_prints_changes(cluster: Cluster, ns: str) -> None:
    proc = cluster.kubectl_bg("get", "pods", "--watch", "-n", ns)
    try:
        time.sleep(1.0)
        cluster.kubectl("run", "watched", "--image=nginx", "-n", ns)
        cluster.kubectl("label", "pod", "watched", "x=y", "-n", ns)
        time.sleep(1.0)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    rows = table(out)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [r[0] for r in rows[1:]].count("watched") >= 2


def test_server_side_apply_and_conflict(cluster: Cluster, ns: str) -> None:
    assert "serverside-applied" in cluster.kubectl("apply", "--server-side", "-n", ns, "-f", "-",
                                                   input=DEPLOYMENT).stdout
    cluster.kubectl("scale", "deploy", "nginx-deployment", "--replicas=5", "-n", ns)
    conflict = cluster.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=DEPLOYMENT, check=False)
    assert conflict.returncode != 0
    assert "conflict" in conflict.stderr and ".spec.replicas" in conflict.stderr
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-n", ns, "-f", "-", input=DEPLOYMENT)
    assert cluster.kubectl("get", "deploy", "nginx-deployment", "-n", ns,
                           "-o=jsonpath={.spec.replicas}").stdout == "3"
    managers = cluster.kubectl("get", "deploy", "nginx-deployment", "-n", ns, "--show-managed-fields",
                               "-o=jsonpath={.metadata.managedFields[*].manager}").stdout.split()
    assert "kubectl" in managers


def test_a_created_pods_fields_belong_to_its_writer_not_to_admission(cluster: Cluster, ns: str) -> None:
    """As upstream's field manager runs before admission: `kubectl run` owns the container and
    the defaults, not the service-account token volume admission adds."""
    cluster.kubectl("run", "owned", "--image=nginx", "-n", ns)
    pod = json.loads(cluster.kubectl("get", "pod", "owned", "-n", ns, "--show-managed-fields", "-o", "json").stdout)
    assert any(v["name"].startswith("kube-api-access-") for v in pod["spec"]["volumes"])
    [entry] = [e for e in pod["metadata"]["managedFields"] if e["manager"] == "kubectl-run"]
    spec_fields = entry["fieldsV1"]["f:spec"]
    assert 'k:{"name":"owned"}' in spec_fields["f:containers"] and "f:dnsPolicy" in spec_fields
    assert "f:volumes" not in spec_fields
    assert "f:volumeMounts" not in spec_fields["f:containers"]['k:{"name":"owned"}']


def test_deleting_a_namespace_empties_it_and_it_disappears(cluster: Cluster) -> None:
    cluster.kubectl("create", "namespace", "doomed")
    cluster.kubectl("create", "deployment", "web", "--image=nginx", "-n", "doomed")
    cluster.kubectl("create", "configmap", "cfg", "-n", "doomed")
    out = cluster.kubectl("delete", "namespace", "doomed", "--timeout=30s")
    assert out.stdout.strip() == 'namespace "doomed" deleted'
    assert cluster.kubectl("get", "ns", "doomed", check=False).returncode != 0
    with cluster.http() as c:
        assert c.get("/api/v1/namespaces/doomed/configmaps").json()["items"] == []
        assert c.get("/apis/apps/v1/namespaces/doomed/deployments").json()["items"] == []
    refused = cluster.kubectl("create", "configmap", "late", "-n", "doomed", check=False)
    assert 'namespaces "doomed" not found' in refused.stderr


def test_exec_into_a_simulated_pod_finds_no_binaries(cluster: Cluster, ns: str) -> None:
    """Simulated containers run no process: a command fails as a missing binary would."""
    cluster.kubectl("run", "sim", "--image=nginx", "-n", ns)
    wait_until(lambda: "Running" in cluster.kubectl("get", "pod", "sim", "-n", ns, "--no-headers").stdout, 30, 0.2)
    out = cluster.kubectl("exec", "sim", "-n", ns, "--", "ls", "/", check=False)
    assert out.returncode == 1
    assert 'exec: "ls": executable file not found in $PATH' in out.stderr

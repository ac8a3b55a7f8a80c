"""Authentication and RBAC through the real kubectl: the admin's client certificate, ServiceAccount
tokens from `kubectl create token`, Roles and bindings, `kubectl auth can-i/whoami`, impersonation,
aggregated default roles, the ServiceAccount admission and the kube-root-ca.crt ConfigMap."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import Cluster, create_namespace, free_port, new_cluster, running_cluster, wait_until


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Cluster:
    with running_cluster(tmp_path_factory.mktemp("auth")) as c:
        yield c


def token_for(c: Cluster, namespace: str, account: str, *extra: str) -> str:
    return c.kubectl("create", "token", account, "-n", namespace, *extra).stdout.strip()


def as_token(c: Cluster, token: str, name: str) -> Path:
    return c.user_kubeconfig(name, {"token": token})


def forbidden(verb: str, resource: str, user: str, namespace: str, group: str = "", name: str = "") -> str:
    gr = f"{resource}.{group}" if group else resource
    head = f'{gr} "{name}"' if name else gr
    return (f'Error from server (Forbidden): {head} is forbidden: User "{user}" cannot {verb} resource '
            f'"{resource}" in API group "{group}" in the namespace "{namespace}"')


def test_client_certificate_alone_authenticates_the_admin(cluster: Cluster) -> None:
    user = yaml.safe_load(cluster.kubeconfig.read_text())["users"][0]["user"]
    assert set(user) == {"client-certificate-data", "client-key-data", "token"}
    cert_only = cluster.user_kubeconfig("cert", {k: user[k] for k in ("client-certificate-data", "client-key-data")})
    out = cluster.kubectl("auth", "whoami", "-o", "json", kubeconfig=cert_only).stdout
    info = json.loads(out)["status"]["userInfo"]
    assert info["username"] == "tinykube-admin"
    assert info["groups"] == ["system:masters", "system:authenticated"]
    assert "kube-system" in cluster.kubectl("get", "namespaces", kubeconfig=cert_only).stdout
    from cryptography import x509
    cert = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    assert cert.subject.rfc4514_string() == "CN=tinykube-admin,O=system:masters"


def test_no_or_wrong_credentials_are_unauthorized(cluster: Cluster) -> None:
    nobody = cluster.user_kubeconfig("nobody", {})
    wrong = cluster.user_kubeconfig("wrong", {"token": "not-a-token"})
    result = cluster.kubectl("get", "pods", kubeconfig=wrong, check=False)
    assert result.returncode == 1
    assert "error: You must be logged in to the server (Unauthorized)" in result.stderr
    result = cluster.kubectl("get", "pods", kubeconfig=nobody, check=False, input="")
    assert result.returncode == 1  # kubectl asks for basic-auth credentials only after a 401
    assert result.stdout.startswith("Please enter Username")


def test_created_token_authenticates_as_the_service_account(cluster: Cluster) -> None:
    ns = create_namespace(cluster)
    wait_until(lambda: cluster.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0)
    kubeconfig = as_token(cluster, token_for(cluster, ns, "default"), "sa-default")
    lines = cluster.kubectl("auth", "whoami", kubeconfig=kubeconfig).stdout.splitlines()
    assert lines[0].split() == ["ATTRIBUTE", "VALUE"]
    assert lines[1].split() == ["Username", f"system:serviceaccount:{ns}:default"]
    uid = cluster.kubectl("get", "sa", "default", "-n", ns, "-o", "jsonpath={.metadata.uid}").stdout
    assert lines[2].split() == ["UID", uid]
    assert lines[3].split(None, 1) == ["Groups", f"[system:serviceaccounts system:serviceaccounts:{ns} "
                                                 "system:authenticated]"]
    result = cluster.kubectl("get", "pods", "-n", ns, kubeconfig=kubeconfig, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == forbidden("list", "pods", f"system:serviceaccount:{ns}:default", ns)


def test_role_binding_grants_in_its_namespace_only(cluster: Cluster) -> None:
    ns, other = create_namespace(cluster), create_namespace(cluster)
    cluster.kubectl("create", "serviceaccount", "reader", "-n", ns)
    cluster.kubectl("create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods", "-n", ns)
    cluster.kubectl("create", "rolebinding", "read-pods", "--role=pod-reader", f"--serviceaccount={ns}:reader",
                    "-n", ns)
    cluster.kubectl("run", "web", "--image=nginx", "-n", ns)
    kubeconfig = as_token(cluster, token_for(cluster, ns, "reader"), "reader")
    user = f"system:serviceaccount:{ns}:reader"
    listed = cluster.kubectl("get", "pods", "-n", ns, "-o", "name", kubeconfig=kubeconfig).stdout
    assert listed.split() == ["pod/web"]
    result = cluster.kubectl("get", "pods", "-n", other, kubeconfig=kubeconfig, check=False)
    assert result.stderr.strip() == forbidden("list", "pods", user, other)
    result = cluster.kubectl("delete", "pod", "web", "-n", ns, kubeconfig=kubeconfig, check=False)
    assert result.stderr.strip() == forbidden("delete", "pods", user, ns, name="web")
    result = cluster.kubectl("get", "deployments", "-n", ns, kubeconfig=kubeconfig, check=False)
    assert result.stderr.strip() == forbidden("list", "deployments", user, ns, group="apps")
    rows = cluster.kubectl("get", "rolebinding", "read-pods", "-n", ns, "-o", "wide").stdout.splitlines()
    assert rows[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    cells = rows[1].split()
    assert (cells[0], cells[1], cells[-1]) == ("read-pods", "Role/pod-reader", f"{ns}/reader")
    roles = cluster.kubectl("get", "roles", "-n", ns).stdout.splitlines()
    assert roles[0].split() == ["NAME", "CREATED", "AT"] and roles[1].split()[0] == "pod-reader"


def test_can_i_with_impersonation(cluster: Cluster) -> None:
    ns = create_namespace(cluster)
    cluster.kubectl("create", "serviceaccount", "ci", "-n", ns)
    user = f"system:serviceaccount:{ns}:ci"
    result = cluster.kubectl("auth", "can-i", "create", "deployments", f"--as={user}", "-n", ns, check=False)
    assert (result.returncode, result.stdout.strip()) == (1, "no")
    cluster.kubectl("create", "rolebinding", "ci-edit", "--clusterrole=edit", f"--serviceaccount={ns}:ci", "-n", ns)
    wait_until(lambda: cluster.kubectl("auth", "can-i", "create", "deployments", f"--as={user}", "-n", ns,
                                       check=False).stdout.strip() == "yes")
    other = create_namespace(cluster)
    result = cluster.kubectl("auth", "can-i", "create", "deployments", f"--as={user}", "-n", other, check=False)
    assert result.stdout.strip() == "no"
    assert cluster.kubectl("auth", "can-i", "*", "*").stdout.strip() == "yes"
    # acting as the SA for real: it may create a Deployment, and may not read secrets of another namespace
    created = cluster.kubectl("create", "deployment", "d", "--image=nginx", f"--as={user}", "-n", ns)
    assert created.stdout.strip() == "deployment.apps/d created"
    result = cluster.kubectl("get", "secrets", "-n", other, f"--as={user}", check=False)
    assert result.stderr.strip() == forbidden("list", "secrets", user, other)


def test_can_i_list(cluster: Cluster) -> None:
    ns = create_namespace(cluster)
    cluster.kubectl("create", "serviceaccount", "lister", "-n", ns)
    cluster.kubectl("create", "role", "cm", "--verb=get,list", "--resource=configmaps", "--resource-name=app",
                    "-n", ns)
    cluster.kubectl("create", "rolebinding", "cm", "--role=cm", f"--serviceaccount={ns}:lister", "-n", ns)
    out = cluster.kubectl("auth", "can-i", "--list", f"--as=system:serviceaccount:{ns}:lister", "-n", ns).stdout
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
    assert ["configmaps", "[]", "[app]", "[get", "list]"] in rows
    assert ["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"] in rows
    assert ["[/api]", "[]", "[get]"] in rows
    assert not any(row[0] == "pods" for row in rows)


def test_aggregated_view_role_gains_labelled_rules(cluster: Cluster) -> None:
    def rules(role: str) -> list:
        return json.loads(cluster.kubectl("get", "clusterrole", role, "-o", "json").stdout).get("rules") or []

    widget = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}  # not in view by default
    assert widget not in rules("view")
    assert {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]} in rules("view")
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "widget-viewer", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
        "rules": [widget]}))
    wait_until(lambda: widget in rules("view"))
    wait_until(lambda: widget in rules("edit") and widget in rules("admin"))  # view aggregates into both
    ns = create_namespace(cluster)
    cluster.kubectl("create", "serviceaccount", "viewer", "-n", ns)
    cluster.kubectl("create", "rolebinding", "v", "--clusterrole=view", f"--serviceaccount={ns}:viewer", "-n", ns)
    viewer = f"--as=system:serviceaccount:{ns}:viewer"
    assert cluster.kubectl("auth", "can-i", "get", "secrets", "-n", ns, viewer).stdout.strip() == "yes"
    cluster.kubectl("delete", "clusterrole", "widget-viewer")
    wait_until(lambda: widget not in rules("view") and widget not in rules("admin"))
    result = cluster.kubectl("auth", "can-i", "get", "secrets", "-n", ns, viewer, check=False)
    assert result.stdout.strip() == "no"


def test_token_of_a_deleted_service_account_is_refused(cluster: Cluster) -> None:
    ns = create_namespace(cluster)
    cluster.kubectl("create", "serviceaccount", "doomed", "-n", ns)
    kubeconfig = as_token(cluster, token_for(cluster, ns, "doomed"), "doomed")
    assert f"system:serviceaccount:{ns}:doomed" in cluster.kubectl("auth", "whoami", kubeconfig=kubeconfig).stdout
    cluster.kubectl("delete", "serviceaccount", "doomed", "-n", ns)
    result = cluster.kubectl("auth", "whoami", kubeconfig=kubeconfig, check=False)
    assert result.returncode == 1 and "Unauthorized" in result.stderr
    cluster.kubectl("create", "serviceaccount", "doomed", "-n", ns)  # same name, new UID: still refused
    result = cluster.kubectl("auth", "whoami", kubeconfig=kubeconfig, check=False)
    assert result.returncode == 1 and "Unauthorized" in result.stderr


def test_pod_bound_token_dies_with_its_pod(cluster: Cluster) -> None:
    ns = create_namespace(cluster)
    cluster.kubectl("run", "holder", "--image=nginx", "-n", ns)
    token = token_for(cluster, ns, "default", "--bound-object-kind=Pod", "--bound-object-name=holder")
    kubeconfig = as_token(cluster, token, "bound")
    out = cluster.kubectl("auth", "whoami", "-o", "json", kubeconfig=kubeconfig).stdout
    extra = json.loads(out)["status"]["userInfo"]["extra"]
    assert extra["authentication.kubernetes.io/pod-name"] == ["holder"]
    cluster.kubectl("delete", "pod", "holder", "-n", ns, "--grace-period=0", "--force")
    wait_until(lambda: cluster.kubectl("get", "pod", "holder", "-n", ns, check=False).returncode != 0)
    result = cluster.kubectl("auth", "whoami", kubeconfig=kubeconfig, check=False)
    assert result.returncode == 1 and "Unauthorized" in result.stderr


def test_token_review(cluster: Cluster) -> None:
    ns = create_namespace(cluster)
    wait_until(lambda: cluster.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0)
    token = token_for(cluster, ns, "default", "--audience=vault")
    with cluster.http() as http:
        def review(tok: str, audiences: list[str] | None = None) -> dict:
            spec = {"token": tok, **({"audiences": audiences} if audiences else {})}
            r = http.post("/apis/authentication.k8s.io/v1/tokenreviews",
                          json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec})
            assert r.status_code == 201, r.text
            return r.json()["status"]

        status = review(token, ["vault"])
        assert status["authenticated"] is True and status["audiences"] == ["vault"]
        assert status["user"]["username"] == f"system:serviceaccount:{ns}:default"
        assert review(token)["authenticated"] is False  # not for the API server's audience
        assert review("garbage")["authenticated"] is False


def test_pods_get_the_service_account_volume(cluster: Cluster) -> None:
    ns = create_namespace(cluster)
    cluster.kubectl("run", "app", "--image=nginx", "-n", ns)
    pod = json.loads(cluster.kubectl("get", "pod", "app", "-n", ns, "-o", "json").stdout)
    spec = pod["spec"]
    assert spec["serviceAccountName"] == "default" and spec["serviceAccount"] == "default"
    volume = spec["volumes"][-1]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == len("kube-api-access-") + 5
    assert volume["projected"] == {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}
    assert spec["containers"][0]["volumeMounts"] == [{"name": volume["name"], "readOnly": True,
                                                      "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "quiet", "namespace": ns},
                "spec": {"automountServiceAccountToken": False, "containers": [{"name": "c", "image": "nginx"}]}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    quiet = json.loads(cluster.kubectl("get", "pod", "quiet", "-n", ns, "-o", "json").stdout)["spec"]
    assert "volumes" not in quiet and "volumeMounts" not in quiet["containers"][0]
    manifest["metadata"]["name"] = "ghost"
    manifest["spec"]["serviceAccountName"] = "ghost"
    result = cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest), check=False)
    assert result.stderr.strip() == (f'Error from server (Forbidden): error when creating "STDIN": pods "ghost" is '
                                     f'forbidden: error looking up service account {ns}/ghost: serviceaccount '
                                     f'"ghost" not found')


def test_every_namespace_gets_the_root_ca(cluster: Cluster) -> None:
    ns = create_namespace(cluster)
    ca = Path(cluster.ca_file).read_text()
    wait_until(lambda: cluster.kubectl("get", "configmap", "kube-root-ca.crt", "-n", ns, check=False).returncode == 0)
    data = json.loads(cluster.kubectl("get", "configmap", "kube-root-ca.crt", "-n", ns, "-o", "json").stdout)["data"]
    assert data == {"ca.crt": ca}
    cluster.kubectl("delete", "configmap", "kube-root-ca.crt", "-n", ns)
    wait_until(lambda: cluster.kubectl("get", "configmap", "kube-root-ca.crt", "-n", ns,
                                       check=False).returncode == 0)


def test_impersonation_needs_the_impersonate_verb(cluster: Cluster) -> None:
    ns = create_namespace(cluster)
    cluster.kubectl("create", "serviceaccount", "plain", "-n", ns)
    kubeconfig = as_token(cluster, token_for(cluster, ns, "plain"), "plain")
    result = cluster.kubectl("get", "pods", "-n", ns, "--as=jane", kubeconfig=kubeconfig, check=False)
    assert result.stderr.strip() == (f'Error from server (Forbidden): users "jane" is forbidden: User '
                                     f'"system:serviceaccount:{ns}:plain" cannot impersonate resource "users" in '
                                     f'API group "" at the cluster scope')


def test_bind_address_is_served_with_a_matching_certificate(tmp_path: Path) -> None:
    c = new_cluster(tmp_path)
    c.start(("--bind-address", "127.0.0.2"))
    try:
        server = yaml.safe_load(c.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
        assert server == f"https://127.0.0.2:{c.port}"
        assert "kube-system" in c.kubectl("get", "namespaces").stdout  # verifies the certificate for 127.0.0.2
    finally:
        c.stop()
    bad = subprocess.run([sys.executable, "-m", "tinykube.cli", "server", "--data-dir", str(tmp_path / "x"),
                          "--port", str(free_port()), "--bind-address", "nowhere"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--bind-address nowhere: not an IP address" in bad.stderr


def test_no_escalation_through_roles_or_bindings(cluster: Cluster) -> None:
    ns = create_namespace(cluster)
    cluster.kubectl("create", "serviceaccount", "lead", "-n", ns)
    cluster.kubectl("create", "rolebinding", "lead-admin", "--clusterrole=admin", f"--serviceaccount={ns}:lead",
                    "-n", ns)
    lead = as_token(cluster, token_for(cluster, ns, "lead"), "lead")
    user = f"system:serviceaccount:{ns}:lead"
    groups = f'["system:serviceaccounts" "system:serviceaccounts:{ns}" "system:authenticated"]'
    # rules it holds: fine; a role over nodes it cannot touch: refused
    cluster.kubectl("create", "role", "pods", "--verb=get,delete", "--resource=pods", "-n", ns, kubeconfig=lead)
    result = cluster.kubectl("create", "role", "nodes", "--verb=get", "--resource=nodes", "-n", ns,
                             kubeconfig=lead, check=False)
    assert result.stderr.strip() == (
        f'Error from server (Forbidden): roles.rbac.authorization.k8s.io "nodes" is forbidden: user "{user}" '
        f'(groups={groups}) is attempting to grant RBAC permissions not currently held:\n'
        '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}')
    # binding view (whose rules admin holds) works; binding cluster-admin does not
    cluster.kubectl("create", "rolebinding", "v", "--clusterrole=view", f"--serviceaccount={ns}:default", "-n", ns,
                    kubeconfig=lead)
    result = cluster.kubectl("create", "rolebinding", "root", "--clusterrole=cluster-admin",
                             f"--serviceaccount={ns}:default", "-n", ns, kubeconfig=lead, check=False)
    assert result.stderr.strip() == (
        f'error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io "root" is forbidden: user '
        f'"{user}" (groups={groups}) is attempting to grant RBAC permissions not currently held:\n'
        '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}')
    # widening its own role by a patch is an update like any other
    result = cluster.kubectl("patch", "role", "pods", "-n", ns, "--type=json", "-p",
                             '[{"op": "add", "path": "/rules/-", "value": {"apiGroups": [""], "resources": '
                             '["nodes"], "verbs": ["list"]}}]', kubeconfig=lead, check=False)
    assert result.returncode == 1 and 'Resources:["nodes"], Verbs:["list"]' in result.stderr
    # the admin (system:masters) may grant anything
    cluster.kubectl("create", "rolebinding", "root", "--clusterrole=cluster-admin", f"--serviceaccount={ns}:default",
                    "-n", ns)


def test_subject_access_reviews(cluster: Cluster) -> None:
    ns = create_namespace(cluster)
    cluster.kubectl("create", "serviceaccount", "sar", "-n", ns)
    cluster.kubectl("create", "rolebinding", "sar", "--clusterrole=view", f"--serviceaccount={ns}:sar", "-n", ns)
    user = f"system:serviceaccount:{ns}:sar"
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]

    def review(path: str, spec: dict, kind: str) -> dict:
        with cluster.http() as http:
            r = http.post(path, json={"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": spec})
            assert r.status_code == 201, r.text
            return r.json()["status"]

    sar = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
    pods = {"namespace": ns, "verb": "list", "resource": "pods"}
    assert review(sar, {"user": user, "groups": groups, "resourceAttributes": pods}, "SubjectAccessReview") == {
        "allowed": True,
        "reason": f'RBAC: allowed by RoleBinding "sar/{ns}" of ClusterRole "view" to ServiceAccount "sar/{ns}"'}
    assert review(sar, {"user": user, "groups": groups, "resourceAttributes": {**pods, "verb": "delete"}},
                  "SubjectAccessReview") == {"allowed": False}
    local = f"/apis/authorization.k8s.io/v1/namespaces/{ns}/localsubjectaccessreviews"
    assert review(local, {"user": user, "resourceAttributes": pods}, "LocalSubjectAccessReview")["allowed"] is True
    with cluster.http() as http:  # a local review must stay in its namespace
        r = http.post(local, json={"spec": {"user": user, "resourceAttributes": {**pods, "namespace": "other"}}})
        assert r.status_code == 422 and r.json()["reason"] == "Invalid"
    url = {"nonResourceAttributes": {"path": "/apis/apps", "verb": "get"}}
    assert review(sar, {"user": user, "groups": groups, **url}, "SubjectAccessReview")["allowed"] is True
    assert review(sar, {"user": "nobody", **url}, "SubjectAccessReview") == {"allowed": False}
    # --as-group: the admin may impersonate groups too
    result = cluster.kubectl("auth", "can-i", "list", "pods", "-n", ns, "--as=jane",
                             f"--as-group=system:serviceaccounts:{ns}", check=False)
    assert result.stdout.strip() == "no"
    cluster.kubectl("create", "rolebinding", "grp", "--clusterrole=view", f"--group=system:serviceaccounts:{ns}",
                    "-n", ns)
    wait_until(lambda: cluster.kubectl("auth", "can-i", "list", "pods", "-n", ns, "--as=jane",
                                       f"--as-group=system:serviceaccounts:{ns}", check=False).stdout.strip() == "yes")


def test_restart_keeps_keys_and_reconciles_default_roles(tmp_path: Path) -> None:
    c = new_cluster(tmp_path)
    c.start()
    try:
        ns = create_namespace(c)
        token = token_for(c, ns, "default")
        cert = yaml.safe_load(c.kubeconfig.read_text())["users"][0]["user"]["client-certificate-data"]
        c.kubectl("patch", "clusterrole", "system:basic-user", "--type=json", "-p",
                  '[{"op": "replace", "path": "/rules", "value": []}]')
        c.kubectl("annotate", "clusterrole", "system:public-info-viewer",
                  "rbac.authorization.kubernetes.io/autoupdate=false", "--overwrite")
        c.kubectl("patch", "clusterrole", "system:public-info-viewer", "--type=json", "-p",
                  '[{"op": "replace", "path": "/rules", "value": []}]')
        c.stop()
        c.start()
        assert yaml.safe_load(c.kubeconfig.read_text())["users"][0]["user"]["client-certificate-data"] == cert
        kubeconfig = as_token(c, token, "after-restart")  # the signing key survived
        assert f"system:serviceaccount:{ns}:default" in c.kubectl("auth", "whoami", kubeconfig=kubeconfig).stdout
        rules = json.loads(c.kubectl("get", "clusterrole", "system:basic-user", "-o", "json").stdout)["rules"]
        assert {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"],
                "verbs": ["create"]} in rules
        kept = json.loads(c.kubectl("get", "clusterrole", "system:public-info-viewer", "-o", "json").stdout)
        assert kept.get("rules") in (None, [])  # autoupdate off: left as the user made it
    finally:
        c.stop()


def test_any_client_certificate_of_the_ca_names_its_user_and_groups(cluster: Cluster) -> None:
    import datetime as dt

    from cryptography.hazmat.primitives import serialization

    from tinykube.certs import issue_client_certificate

    pki = cluster.data_dir / "pki"
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), password=None)
    from cryptography import x509
    ca_cert = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    key, cert = issue_client_certificate(ca_key, ca_cert, dt.datetime.now(dt.timezone.utc), "jane", "devs", "qa")
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    jane = cluster.user_kubeconfig("jane", {"client-certificate-data": base64.b64encode(pem).decode(),
                                            "client-key-data": base64.b64encode(key_pem).decode()})
    info = json.loads(cluster.kubectl("auth", "whoami", "-o", "json", kubeconfig=jane).stdout)["status"]["userInfo"]
    assert info == {"username": "jane", "groups": ["devs", "qa", "system:authenticated"]}
    ns = create_namespace(cluster)
    result = cluster.kubectl("get", "configmaps", "-n", ns, kubeconfig=jane, check=False)
    assert result.stderr.strip() == forbidden("list", "configmaps", "jane", ns)
    cluster.kubectl("create", "rolebinding", "devs", "--clusterrole=view", "--group=devs", "-n", ns)
    wait_until(lambda: cluster.kubectl("get", "configmaps", "-n", ns, kubeconfig=jane, check=False).returncode == 0)

"""The web view at /ui in a real headless Chromium: login (token form, one-time link), live
workload trees, the rollout timeline, actions through the API, and refusals without login."""

from __future__ import annotations

import json
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from browser import login_with_token, new_browser, one_time_link, timeline_points, wait_for, wait_until_js
from helpers import Cluster, create_namespace, running_cluster, wait_until


@pytest.fixture(scope="module")
def uc(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("ui"), "--sim-nodes", "2") as c:
        yield c


@pytest.fixture(scope="module")
def page(uc: Cluster):
    """One browser logged in with the token form for the module's tests (Chromium starts slowly)."""
    d = new_browser()
    try:
        login_with_token(d, uc)
        yield d
    finally:
        d.quit()


@pytest.fixture
def fresh():
    d = new_browser()
    try:
        yield d
    finally:
        d.quit()


def show_namespace(d, ns: str) -> None:
    wait_for(d, f'#namespace option[value="{ns}"]')
    Select(d.find_element(By.ID, "namespace")).select_by_value(ns)
    d.find_element(By.ID, "tab-workloads").click()


def type_into(field, text: str) -> None:
    """Replace a field's text the way a person does (select all, type): each key an input event."""
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text)


def spec_replicas(c: Cluster, ns: str, name: str) -> int:
    return int(c.kubectl("get", "deployment", name, "-n", ns, "-o", "jsonpath={.spec.replicas}").stdout)


def test_page_loads_after_login_and_shows_nodes(uc: Cluster, page) -> None:
    assert page.title == "tinykube"
    page.find_element(By.ID, "tab-nodes").click()
    names = {e.get_attribute("data-node") for e in page.find_elements(By.CSS_SELECTOR, "[data-node]")} or \
        wait_until_js(page, "return [...document.querySelectorAll('[data-node]')].map(e => e.dataset.node)")
    assert set(names) >= {"sim-1", "sim-2"}
    page.find_element(By.ID, "tab-workloads").click()


def test_deployment_created_with_kubectl_appears_within_a_second(uc: Cluster, page) -> None:
    ns = create_namespace(uc)
    show_namespace(page, ns)
    uc.kubectl("create", "deployment", "hello", "--image=nginx:1.25", "--replicas=2", "-n", ns)
    started = time.monotonic()
    wait_for(page, f'[data-workload="Deployment/{ns}/hello"]', timeout=1.0)
    assert time.monotonic() - started <= 1.0
    # ... and its tree fills in: the ReplicaSet of revision 1 with two pods under it.
    wait_until_js(page, "return document.querySelectorAll(arguments[0]).length === 2", 30,
                  f'[data-workload="Deployment/{ns}/hello"] li[data-kind=ReplicaSet] li[data-kind=Pod]')


def test_set_image_rollout_draws_its_steps_on_the_timeline(uc: Cluster, page) -> None:
    ns = create_namespace(uc)
    show_namespace(page, ns)
    uc.kubectl("create", "deployment", "web", "--image=nginx:1.25", "--replicas=4", "-n", ns)
    uc.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s", timeout=90)
    uc.kubectl("set", "image", "deployment/web", "nginx=nginx:1.26", "-n", ns)
    uc.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s", timeout=90)
    workload = f"Deployment/{ns}/web"

    def settled():
        series = {s["revision"]: [v for _, v in s["points"]] for s in timeline_points(page, workload)}
        return series if series.get(1, [None])[-1] == 0 and series.get(2, [None])[-1] == 4 else None

    series = wait_until(settled, timeout=10)
    # A rolling update (25% surge and unavailability of 4 = one pod each way) moves in steps:
    # the new ReplicaSet passes through counts between 0 and 4, the old one down from 4 to 0.
    new_steps = [v for v in series[2] if 0 < v < 4]
    old_steps = [v for v in series[1] if 0 < v < 4]
    assert len(new_steps) >= 2 and new_steps == sorted(new_steps), series
    assert len(old_steps) >= 2 and old_steps == sorted(old_steps, reverse=True), series
    assert series[1][0] == 4, series
    # The plot is drawn: uPlot's canvas sits in the figure with a legend entry per revision.
    legend = page.find_element(By.CSS_SELECTOR, f'[data-workload="{workload}"] .u-legend').text
    assert "rev 1" in legend and "rev 2" in legend


def test_scale_from_the_page_changes_spec_replicas(uc: Cluster, page) -> None:
    ns = create_namespace(uc)
    show_namespace(page, ns)
    uc.kubectl("create", "deployment", "app", "--image=nginx:1.25", "--replicas=1", "-n", ns)
    field = wait_for(page, f"#replicas-{ns}-app")
    type_into(field, "3")
    page.find_element(By.CSS_SELECTOR, f'[data-workload="Deployment/{ns}/app"] button.scale').click()
    wait_until(lambda: spec_replicas(uc, ns, "app") == 3, timeout=15)
    wait_until_js(page, "return document.querySelectorAll(arguments[0]).length === 3", 30,
                  f'[data-workload="Deployment/{ns}/app"] li[data-kind=Pod]')
    # A refused write shows the API's own Status message.
    with uc.http() as http:
        refused = http.patch(f"/apis/apps/v1/namespaces/{ns}/deployments/app/scale", content='{"spec":{"replicas":-1}}',
                             headers={"Content-Type": "application/merge-patch+json"})
    assert refused.status_code == 422
    type_into(field, "-1")
    page.find_element(By.CSS_SELECTOR, f'[data-workload="Deployment/{ns}/app"] button.scale').click()
    alert = wait_for(page, f'[data-workload="Deployment/{ns}/app"] [role=alert]')
    assert alert.text == refused.json()["message"]
    assert spec_replicas(uc, ns, "app") == 3


def test_set_image_undo_pause_and_delete_pod_from_the_page(uc: Cluster, page) -> None:
    ns = create_namespace(uc)
    show_namespace(page, ns)
    uc.kubectl("create", "deployment", "site", "--image=nginx:1.25", "--replicas=2", "-n", ns)
    card = f'[data-workload="Deployment/{ns}/site"]'
    wait_for(page, f"#image-{ns}-site").send_keys("nginx:1.27")
    page.find_element(By.CSS_SELECTOR, f"{card} button.set-image").click()
    image = lambda: uc.kubectl("get", "deployment", "site", "-n", ns, "-o",  # noqa: E731
                               "jsonpath={.spec.template.spec.containers[0].image}").stdout
    wait_until(lambda: image() == "nginx:1.27", timeout=15)
    wait_until(lambda: uc.kubectl("get", "deployment", "site", "-n", ns, "-o",
                                  "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}").stdout == "2",
               timeout=15)
    wait_for(page, f"{card} li[data-kind=ReplicaSet] + li[data-kind=ReplicaSet]")
    page.find_element(By.CSS_SELECTOR, f"{card} button.undo").click()
    wait_until(lambda: image() == "nginx:1.25", timeout=15)
    # Paused: kubectl's refusal to roll back, in kubectl's words.
    page.find_element(By.CSS_SELECTOR, f"{card} button.pause").click()
    wait_until(lambda: uc.kubectl("get", "deployment", "site", "-n", ns, "-o",
                                  "jsonpath={.spec.paused}").stdout == "true", timeout=15)
    wait_for(page, f"{card} button.resume")
    page.find_element(By.CSS_SELECTOR, f"{card} button.undo").click()
    assert "you cannot rollback a paused deployment" in wait_for(page, f"{card} [role=alert]").text
    page.find_element(By.CSS_SELECTOR, f"{card} button.resume").click()
    wait_until(lambda: uc.kubectl("get", "deployment", "site", "-n", ns, "-o",
                                  "jsonpath={.spec.paused}").stdout in ("", "false"), timeout=15)
    uc.kubectl("rollout", "status", "deployment/site", "-n", ns, "--timeout=60s", timeout=90)
    pod = uc.kubectl("get", "pods", "-n", ns, "-o", "jsonpath={.items[0].metadata.name}").stdout
    wait_for(page, f'button[aria-label="Delete pod {pod}"]').click()
    wait_until(lambda: pod not in uc.kubectl("get", "pods", "-n", ns, "-o", "name").stdout, timeout=30)


def test_events_view_streams_the_namespace_events(uc: Cluster, page) -> None:
    ns = create_namespace(uc)
    show_namespace(page, ns)
    uc.kubectl("create", "deployment", "ev", "--image=nginx:1.25", "--replicas=1", "-n", ns)
    page.find_element(By.ID, "tab-events").click()
    try:
        text = wait_until_js(page, "const t = document.querySelector('table.events'); "
                                   "return t && t.innerText.includes('ScalingReplicaSet') && t.innerText", 30)
        assert "Scaled up replica set ev-" in text
    finally:
        page.find_element(By.ID, "tab-workloads").click()


def test_unauthenticated_visit_is_refused(uc: Cluster, fresh) -> None:
    fresh.get(uc.url + "/ui/")
    assert "Unauthorized" in wait_for(fresh, "#login-error").text
    assert not fresh.find_elements(By.ID, "tab-workloads")
    # The page's own calls without credentials: refused by the API, over HTTP and WebSocket.
    code = fresh.execute_async_script(
        "fetch('/api/v1/namespaces', {headers: {'X-Tinykube-UI': '1'}}).then(r => arguments[0](r.status))")
    assert code == 401
    close = fresh.execute_async_script(
        "const done = arguments[0]; const ws = new WebSocket(`wss://${location.host}/api/v1/pods?watch=1`);"
        "ws.onclose = (e) => done([e.code, e.reason]);")
    assert close == [4401, "Unauthorized"]
    # A wrong token is refused with the API's message.
    fresh.find_element(By.ID, "token").send_keys("not-the-token")
    fresh.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_until(lambda: fresh.find_element(By.ID, "login-error").text == "Unauthorized")
    assert not fresh.find_elements(By.ID, "tab-workloads")


def test_one_time_link_works_once_and_its_cookie_only_for_the_page(uc: Cluster, fresh) -> None:
    link = one_time_link(uc)
    fresh.get(link)
    wait_for(fresh, "#tab-workloads")
    assert fresh.execute_script("return sessionStorage.getItem('tinykube.token')") is None  # the cookie did it
    ns = create_namespace(uc)  # arrives through a watch: the cookie also opens the page's WebSockets
    wait_for(fresh, f'#namespace option[value="{ns}"]')
    cookie = next(c for c in fresh.get_cookies() if c["name"] == "tinykube-ui-session")
    assert cookie["httpOnly"] and cookie["secure"]
    # The cookie authenticates only the page's same-origin requests, with the page's header.
    with uc.http(authenticated=False) as http:
        jar = {"Cookie": f"tinykube-ui-session={cookie['value']}"}
        assert http.get("/api/v1/namespaces", headers=jar).status_code == 401
        assert http.get("/api/v1/namespaces", headers={**jar, "X-Tinykube-UI": "1"}).status_code == 200
        assert http.get("/api/v1/namespaces", headers={
            **jar, "X-Tinykube-UI": "1", "Origin": "https://evil.example"}).status_code == 401
        assert http.delete("/api/v1/namespaces/default", headers={
            **jar, "X-Tinykube-UI": "1", "Sec-Fetch-Site": "cross-site"}).status_code == 401
        assert http.get(link.replace(uc.url, "")).status_code == 401  # spent
    # A second visit with the same link is refused; without a cookie the page asks for the token.
    fresh.delete_all_cookies()
    fresh.get(link)
    assert "already used" in fresh.find_element(By.TAG_NAME, "h1").text
    fresh.get(uc.url + "/ui/")
    wait_for(fresh, "#token")


def test_pod_logs_panel_follows_the_log(uc: Cluster, page) -> None:
    ns = create_namespace(uc)
    show_namespace(page, ns)
    uc.kubectl("create", "deployment", "lg", "--image=nginx:1.25", "--replicas=1", "-n", ns)
    uc.kubectl("rollout", "status", "deployment/lg", "-n", ns, "--timeout=60s", timeout=90)
    pod = uc.kubectl("get", "pods", "-n", ns, "-o", "jsonpath={.items[0].metadata.name}").stdout
    expected = uc.kubectl("logs", pod, "-n", ns).stdout.strip()
    wait_for(page, f'button[aria-label="Logs of pod {pod}"]').click()
    panel = wait_for(page, "aside.logs")
    assert pod in panel.find_element(By.ID, "logs-title").text
    if expected:
        wait_until(lambda: expected.splitlines()[0] in panel.find_element(By.CSS_SELECTOR, ".log-lines").text, 15)
    assert not panel.find_elements(By.CSS_SELECTOR, "[role=alert]")
    panel.find_element(By.XPATH, ".//button[text()='Close']").click()
    assert not page.find_elements(By.CSS_SELECTOR, "aside.logs")


def test_static_files_are_served_from_the_package_with_a_strict_policy(uc: Cluster) -> None:
    with uc.http(authenticated=False) as http:
        index = http.get("/ui/")
        assert index.status_code == 200 and "importmap" in index.text
        assert "default-src 'self'" in index.headers["content-security-policy"]
        assert http.get("/ui/vendor/uPlot.esm.js").headers["content-type"].startswith("text/javascript")
        assert http.get("/ui/%2e%2e/%2e%2e/server.py").status_code == 404
        assert http.get("/ui", follow_redirects=False).headers["location"] == "/ui/"
        assert json.loads(http.get("/api/v1/namespaces").text)["reason"] == "Unauthorized"

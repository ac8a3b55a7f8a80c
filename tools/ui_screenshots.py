"""Takes the README's screenshots of the web view (docs/ui-*.png) on a throwaway cluster:
`.venv/bin/python tools/ui_screenshots.py` (needs chromium and chromedriver)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from selenium.webdriver.common.by import By  # noqa: E402

from browser import login_with_token, new_browser, wait_for, wait_until_js  # noqa: E402
from helpers import running_cluster  # noqa: E402

WORKLOADS = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres:16}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: busybox:1.36, command: [sleep, '3600']}]}
---
apiVersion: v1
kind: Pod
metadata: {name: greeter}
spec:
  nodeName: vm
  containers:
  - name: greeter
    image: busybox:1.36
    command: [sh, -c, 'for i in 1 2 3 4 5 6; do echo "hello from greeter, line $i"; sleep 1; done; sleep 3600']
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: Never, containers: [{name: report, image: busybox:1.36, command: [sh, -c, 'echo report; sleep 2']}]}
"""


def full_page(d) -> None:
    height = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(1280, min(4000, height + 120))
    time.sleep(0.5)


def main() -> None:
    docs = ROOT / "docs"
    with tempfile.TemporaryDirectory() as tmp, \
            running_cluster(Path(tmp), "--sim-nodes", "2", "--local-runtime", "process") as c:
        c.kubectl("create", "namespace", "demo")
        d = new_browser(1280, 1000)
        try:
            login_with_token(d, c, "demo")
            c.kubectl("-n", "demo", "create", "deployment", "web", "--image=nginx:1.25", "--replicas=4")
            c.kubectl("-n", "demo", "rollout", "status", "deployment/web", "--timeout=60s", timeout=90)
            c.kubectl("-n", "demo", "set", "image", "deployment/web", "nginx=nginx:1.26")
            c.kubectl("-n", "demo", "rollout", "status", "deployment/web", "--timeout=60s", timeout=90)
            c.kubectl("-n", "demo", "apply", "-f", "-", input=WORKLOADS)
            wait_until_js(d, "return document.querySelector('[data-workload=\"CronJob/demo/report\"] li[data-kind=Pod]')", 120)
            time.sleep(2)
            full_page(d)
            d.save_screenshot(str(docs / "ui-workloads.png"))
            d.set_window_size(1280, 1000)
            d.find_element(By.ID, "tab-nodes").click()
            time.sleep(0.5)
            d.save_screenshot(str(docs / "ui-nodes.png"))
            d.find_element(By.ID, "tab-events").click()
            time.sleep(0.5)
            d.save_screenshot(str(docs / "ui-events.png"))
            d.find_element(By.ID, "tab-workloads").click()
            wait_for(d, "button[aria-label='Logs of pod greeter']").click()
            wait_until_js(d, "return document.querySelector('.log-lines').innerText.includes('line 3')", 30)
            d.save_screenshot(str(docs / "ui-logs.png"))
        finally:
            d.quit()


if __name__ == "__main__":
    main()

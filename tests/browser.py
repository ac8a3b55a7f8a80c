"""Test support: a real headless Chromium (Debian's `chromium` and `chromium-driver`, which
.ci/run installs) driven by selenium, pointed at a running cluster's web view."""

from __future__ import annotations

import json
import shutil
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from helpers import Cluster


def chromium_paths() -> tuple[str, str]:
    """The browser and its driver; missing ones fail the test (CI installs them), never skip it."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        raise AssertionError("Chromium and chromedriver are needed: apt-get install -y chromium chromium-driver")
    return browser, driver


def new_browser(width: int = 1280, height: int = 900) -> webdriver.Chrome:
    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    # The cluster's serving certificate is signed by its own CA, which this throwaway profile does not trust.
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--ignore-certificate-errors",
                f"--window-size={width},{height}", "--disable-gpu"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def one_time_link(c: Cluster) -> str:
    line = next(line for line in c.output if "one-time login link" in line)
    return line.rsplit(": ", 1)[1].strip()


def login_with_token(d: webdriver.Chrome, c: Cluster, namespace: str = "default") -> None:
    """The login form, as a person uses it: paste the kubeconfig's token, press Log in."""
    d.get(c.url + "/ui/")
    d.execute_script("localStorage.setItem('tinykube.namespace', arguments[0])", namespace)
    field = wait_for(d, "#token")
    field.send_keys(c.token)
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(d, "#tab-workloads")


def wait_for(d: webdriver.Chrome, css: str, timeout: float = 30.0):
    return WebDriverWait(d, timeout, poll_frequency=0.05).until(lambda drv: drv.find_element(By.CSS_SELECTOR, css))


def wait_until_js(d: webdriver.Chrome, script: str, timeout: float = 30.0, *args: Any) -> Any:
    return WebDriverWait(d, timeout, poll_frequency=0.05).until(lambda drv: drv.execute_script(script, *args))


def timeline_points(d: webdriver.Chrome, workload: str) -> list[dict]:
    figure = d.find_element(By.CSS_SELECTOR, f'[data-workload="{workload}"] figure.timeline')
    return json.loads(figure.get_attribute("data-points") or "[]")

"""CronJobs through the real kubectl, on a server whose minute passes in a wall second.

Jobs never finish by themselves here (their pods would run for a day: `exit-after`), so each test
finishes jobs itself by writing Job status through the API, as the Job controller would.
"""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timezone

import pytest
import yaml

from helpers import Cluster, create_namespace, running_cluster, wait_until

SCALE = 60  # one cluster minute per wall second


@pytest.fixture(scope="module")
def cron_cluster(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("cron"), "--sim-nodes", "1", "--time-scale", str(SCALE)) as c:
        yield c


@pytest.fixture
def cns(cron_cluster: Cluster):
    ns = create_namespace(cron_cluster)
    yield ns
    # stop the schedules so later tests do not share the server with busy CronJobs
    cron_cluster.kubectl("delete", "cronjobs", "--all", "-n", ns, "--wait=false", check=False)


def cronjob(name: str, schedule: str = "*/1 * * * *", policy: str = "Allow", extra: str = "",
            time_zone: str | None = None) -> str:
    spec = {"schedule": schedule, "concurrencyPolicy": policy,
            "jobTemplate": {"metadata": {"labels": {"app": name}, "annotations": {"team": "batch"}},
                            "spec": {"template": {
                                "metadata": {"annotations": {"sim.tinykube.io/exit-after": "24h"}},
                                "spec": {"restartPolicy": "OnFailure",
                                         "containers": [{"name": "work", "image": "busybox",
                                                         "command": ["echo", "hi"]}]}}}}}
    if time_zone:
        spec["timeZone"] = time_zone
    spec.update(yaml.safe_load(textwrap.dedent(extra)) or {})
    return yaml.safe_dump({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name}, "spec": spec})


def jobs(c: Cluster, ns: str) -> list[dict]:
    items = json.loads(c.kubectl("get", "jobs", "-n", ns, "-o", "json").stdout)["items"]
    return sorted(items, key=lambda j: j["metadata"]["name"])


def get(c: Cluster, ns: str, kind: str, name: str) -> dict:
    return json.loads(c.kubectl("get", kind, name, "-n", ns, "-o", "json").stdout)


def suffix(job: dict) -> int:
    return int(job["metadata"]["name"].rsplit("-", 1)[1])


def events(c: Cluster, ns: str, reason: str) -> list[str]:
    items = json.loads(c.kubectl("get", "events", "-n", ns, "-o", "json").stdout)["items"]
    return [e["message"] for e in items if e["reason"] == reason]


def table(c: Cluster, *args: str) -> list[dict[str, str]]:
    """`kubectl get` output as rows keyed by header, split at the header's column starts."""
    lines = c.kubectl("get", *args).stdout.rstrip("\n").splitlines()
    header = lines[0]
    starts = [i for i, ch in enumerate(header) if ch != " " and (i == 0 or header[i - 1] == " ")
              and not header[i - 5:i] == "LAST "]
    names = [header[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
    return [{n: line[a:b].strip() for n, a, b in zip(names, starts, starts[1:] + [None])} for line in lines[1:]]


def finish(c: Cluster, ns: str, name: str, condition: str = "Complete") -> None:
    """Write the status the Job controller writes when a job ends."""
    with c.http() as http:
        for _ in range(20):
            job = http.get(f"/apis/batch/v1/namespaces/{ns}/jobs/{name}").json()
            start = job["metadata"]["creationTimestamp"]
            end = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() + 30
            end_text = datetime.fromtimestamp(end, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            status = {"startTime": start, "conditions": []}
            if condition == "Complete":
                status.update(succeeded=1, completionTime=end_text)
                status["conditions"].append({"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                                             "lastTransitionTime": end_text, "lastProbeTime": end_text})
            else:
                status.update(failed=1)
                status["conditions"].append({"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
                                             "lastTransitionTime": end_text, "lastProbeTime": end_text})
            status["conditions"].append({"type": condition, "status": "True", "lastTransitionTime": end_text,
                                         "lastProbeTime": end_text,
                                         **({"reason": "BackoffLimitExceeded"} if condition == "Failed" else
                                            {"reason": "CompletionsReached"})})
            job["status"] = status
            r = http.put(f"/apis/batch/v1/namespaces/{ns}/jobs/{name}/status", json=job)
            if r.status_code != 409:
                assert r.status_code == 200, r.text
                return
        raise AssertionError(f"could not finish job {name}")


def test_jobs_on_schedule_with_upstream_names(cron_cluster: Cluster, cns: str):
    c = cron_cluster
    c.kubectl("apply", "-n", cns, "-f", "-", input=cronjob("tick"))
    created = wait_until(lambda: len(j := jobs(c, cns)) >= 3 and j, 30, 0.2)
    cj = get(c, cns, "cronjob", "tick")
    first = created[:3]
    minutes = [suffix(j) for j in first]
    # one job per scheduled minute, named by the minute since the epoch
    assert minutes == list(range(minutes[0], minutes[0] + 3))
    created_at = datetime.fromisoformat(cj["metadata"]["creationTimestamp"].replace("Z", "+00:00")).timestamp()
    assert created_at < minutes[0] * 60 <= created_at + 60  # the first is the first minute after creation
    for job in first:
        meta = job["metadata"]
        scheduled = datetime.fromtimestamp(suffix(job) * 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert meta["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == scheduled
        assert meta["annotations"]["team"] == "batch" and meta["labels"]["app"] == "tick"
        ref = meta["ownerReferences"]
        assert ref == [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "tick", "uid": cj["metadata"]["uid"],
                        "controller": True, "blockOwnerDeletion": True}]
        # the job's pods will run the template (with the Job's generated selector)
        assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]
        assert job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] == meta["uid"]
    # status: every unfinished job is active, lastScheduleTime is the newest minute
    status = wait_until(lambda: (s := get(c, cns, "cronjob", "tick")["status"]) and
                        len(s.get("active", [])) == len(jobs(c, cns)) and s, 20, 0.2)
    newest = max(suffix(j) for j in jobs(c, cns))
    assert status["lastScheduleTime"] >= datetime.fromtimestamp(newest * 60 - 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {r["kind"] for r in status["active"]} == {"Job"}
    assert {r["name"] for r in status["active"]} >= {j["metadata"]["name"] for j in first}
    row = table(c, "cronjob", "tick", "-n", cns)[0]
    assert row["SCHEDULE"] == "*/1 * * * *" and row["TIMEZONE"] == "<none>" and row["SUSPEND"] == "False"
    assert int(row["ACTIVE"]) >= 3 and row["LAST SCHEDULE"] != "<none>"
    assert row["LAST SCHEDULE"].endswith("s")  # seconds ago, in cluster time
    messages = events(c, cns, "SuccessfulCreate")
    assert {f"Created job {j['metadata']['name']}" for j in first} <= set(messages)


def test_time_zone_schedule(cron_cluster: Cluster, cns: str):
    c = cron_cluster
    c.kubectl("apply", "-n", cns, "-f", "-", input=cronjob("kolkata", time_zone="Asia/Kolkata"))
    job = wait_until(lambda: (j := jobs(c, cns)) and j[0], 30, 0.2)
    stamp = job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    assert stamp.endswith("+05:30")
    assert datetime.fromisoformat(stamp).timestamp() == suffix(job) * 60
    row = table(c, "cronjob", "kolkata", "-n", cns)[0]
    assert row["TIMEZONE"] == "Asia/Kolkata"


def test_forbid_skips_while_a_job_runs(cron_cluster: Cluster, cns: str):
    c = cron_cluster
    c.kubectl("apply", "-n", cns, "-f", "-", input=cronjob("solo", policy="Forbid"))
    first = wait_until(lambda: (j := jobs(c, cns)) and j[0], 30, 0.2)
    # minutes pass while the first job runs: each is skipped with upstream's event
    wait_until(lambda: len(events(c, cns, "JobAlreadyActive")) >= 1 and
               any(e for e in json.loads(c.kubectl("get", "events", "-n", cns, "-o", "json").stdout)["items"]
                   if e["reason"] == "JobAlreadyActive" and e.get("count", 1) >= 2), 30, 0.2)
    assert [j["metadata"]["name"] for j in jobs(c, cns)] == [first["metadata"]["name"]]
    assert events(c, cns, "JobAlreadyActive")[0] == (
        "Not starting job because prior execution is running and concurrency policy is Forbid")
    assert [r["name"] for r in get(c, cns, "cronjob", "solo")["status"]["active"]] == [first["metadata"]["name"]]
    # once it finishes, the next minute starts a new one
    finish(c, cns, first["metadata"]["name"])
    second = wait_until(lambda: len(j := jobs(c, cns)) == 2 and j[1], 30, 0.2)
    assert suffix(second) > suffix(first) + 1  # the skipped minutes stay skipped
    assert f"Saw completed job: {first['metadata']['name']}, condition: Complete" in events(c, cns, "SawCompletedJob")
    status = wait_until(lambda: (s := get(c, cns, "cronjob", "solo")["status"]).get("lastSuccessfulTime") and s, 20, 0.2)
    assert status["lastSuccessfulTime"] > first["metadata"]["creationTimestamp"]


def test_replace_replaces_the_running_job(cron_cluster: Cluster, cns: str):
    c = cron_cluster
    c.kubectl("apply", "-n", cns, "-f", "-", input=cronjob("swap", policy="Replace"))
    first = wait_until(lambda: (j := jobs(c, cns)) and j[0]["metadata"]["name"], 30, 0.2)
    wait_until(lambda: f"Deleted job {first}" in events(c, cns, "SuccessfulDelete"), 30, 0.2)
    def replaced():
        names = [j["metadata"]["name"] for j in jobs(c, cns) if not j["metadata"].get("deletionTimestamp")]
        active = [r["name"] for r in get(c, cns, "cronjob", "swap")["status"].get("active", [])]
        return len(names) == 1 and names == active and names[0] != first and names
    names = wait_until(replaced, 30, 0.2)
    assert int(names[0].rsplit("-", 1)[1]) > int(first.rsplit("-", 1)[1])


def test_history_limits(cron_cluster: Cluster, cns: str):
    c = cron_cluster
    extra = """\
        successfulJobsHistoryLimit: 2
        failedJobsHistoryLimit: 1
        """
    c.kubectl("apply", "-n", cns, "-f", "-", input=cronjob("hist", extra=extra))
    finished: list[tuple[str, str]] = []
    # finish six jobs as they come: four succeed, two fail
    for condition in ("Complete", "Failed", "Complete", "Failed", "Complete", "Complete"):
        done = {name for name, _ in finished}
        job = wait_until(lambda: next((j for j in jobs(c, cns) if j["metadata"]["name"] not in done
                                       and not j.get("status", {}).get("conditions")), None), 30, 0.1)
        finish(c, cns, job["metadata"]["name"], condition)
        finished.append((job["metadata"]["name"], condition))
    complete = [n for n, cond in finished if cond == "Complete"]
    failed = [n for n, cond in finished if cond == "Failed"]

    def kept():
        now = {j["metadata"]["name"]: j for j in jobs(c, cns)}
        ok = [n for n in complete if n in now]
        bad = [n for n in failed if n in now]
        return ok == complete[-2:] and bad == failed[-1:] and (ok, bad)
    wait_until(kept, 30, 0.2)
    deleted = set(events(c, cns, "SuccessfulDelete"))
    assert {f"Deleted job {n}" for n in complete[:-2] + failed[:-1]} <= deleted
    saw = events(c, cns, "SawCompletedJob")
    assert f"Saw completed job: {failed[0]}, condition: Failed" in saw
    assert f"Saw completed job: {complete[0]}, condition: Complete" in saw
    status = get(c, cns, "cronjob", "hist")["status"]
    assert {r["name"] for r in status.get("active", [])}.isdisjoint(n for n, _ in finished)


def test_suspend_stops_creation(cron_cluster: Cluster, cns: str):
    c = cron_cluster
    c.kubectl("apply", "-n", cns, "-f", "-", input=cronjob("pause"))
    # a second CronJob keeps ticking: its jobs tell which scheduled minutes have passed
    c.kubectl("apply", "-n", cns, "-f", "-", input=cronjob("witness"))

    def named(prefix: str) -> list[dict]:
        return [j for j in jobs(c, cns) if j["metadata"]["name"].startswith(prefix + "-")]

    wait_until(lambda: named("pause") and named("witness"), 30, 0.2)

    def witness_reaches(minute: int) -> bool:
        return any(suffix(j) >= minute for j in named("witness"))

    c.kubectl("patch", "cronjob", "pause", "-n", cns, "-p", '{"spec":{"suspend":true}}')
    assert table(c, "cronjob", "pause", "-n", cns)[0]["SUSPEND"] == "True"
    # one minute after the patch every sync sees it; a job started just before may still land
    seen = max(suffix(j) for j in named("witness"))
    wait_until(lambda: witness_reaches(seen + 2), 30, 0.1)
    before = {j["metadata"]["name"] for j in named("pause")}
    wait_until(lambda: witness_reaches(seen + 5), 30, 0.1)  # three more scheduled minutes
    assert {j["metadata"]["name"] for j in named("pause")} == before
    # resuming starts only the most recent missed minute, not every one
    c.kubectl("patch", "cronjob", "pause", "-n", cns, "-p", '{"spec":{"suspend":false}}')
    fresh = wait_until(lambda: [j for j in named("pause") if j["metadata"]["name"] not in before], 30, 0.1)
    last = max(suffix(j) for j in named("pause") if j["metadata"]["name"] in before)
    assert suffix(fresh[0]) >= last + 3
    assert len(fresh) == 1 or suffix(fresh[1]) == suffix(fresh[0]) + 1  # then on schedule again


def test_invalid_time_zone_and_tz_in_schedule_rejected(cron_cluster: Cluster, cns: str):
    c = cron_cluster
    r = c.kubectl("apply", "-n", cns, "-f", "-", input=cronjob("badzone", time_zone="Bad/Zone"), check=False)
    assert r.returncode != 0
    assert 'spec.timeZone: Invalid value: "Bad/Zone": unknown time zone Bad/Zone' in r.stderr
    r = c.kubectl("apply", "-n", cns, "-f", "-", input=cronjob("tzprefix", schedule="TZ=UTC */1 * * * *"), check=False)
    assert r.returncode != 0
    assert ('spec.schedule: Invalid value: "TZ=UTC */1 * * * *": cannot use TZ or CRON_TZ in schedule, '
            "use timeZone field instead") in r.stderr
    assert jobs(c, cns) == []


def test_create_job_from_cronjob(cron_cluster: Cluster, cns: str):
    c = cron_cluster
    c.kubectl("apply", "-n", cns, "-f", "-", input=cronjob("yearly", schedule="@yearly"))
    c.kubectl("create", "job", "manual", "--from=cronjob/yearly", "-n", cns)
    cj = get(c, cns, "cronjob", "yearly")
    job = get(c, cns, "job", "manual")
    meta = job["metadata"]
    assert meta["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert meta["labels"]["app"] == "yearly"
    assert meta["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "yearly",
                                        "uid": cj["metadata"]["uid"], "controller": True}]
    # the controller did not start it, so it reports it (upstream's UnexpectedJob) and leaves it out of active
    wait_until(lambda: "Saw a job that the controller did not create or forgot: manual"
               in events(c, cns, "UnexpectedJob"), 20, 0.2)
    assert not get(c, cns, "cronjob", "yearly").get("status", {}).get("active")
    row = table(c, "cronjob", "yearly", "-n", cns)[0]
    assert row["ACTIVE"] == "0" and row["LAST SCHEDULE"] == "<none>"

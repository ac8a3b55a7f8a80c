"""Jobs driven by the real kubectl against a server with simulated nodes and a fast clock."""

from __future__ import annotations

import json
import textwrap
import threading
from datetime import datetime

import pytest

from helpers import Cluster, create_namespace, running_cluster, wait_until

SCALE = "10"  # cluster seconds per wall second: a 10 s pod-failure backoff takes one second


@pytest.fixture(scope="module")
def jc(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("jobs"), "--sim-nodes", "3", "--time-scale", SCALE) as c:
        yield c


@pytest.fixture
def jns(jc: Cluster) -> str:
    return create_namespace(jc)


def job_yaml(name: str, spec: str = "", annotations: str = "", restart: str = "Never", container: str = "main") -> str:
    spec_lines = textwrap.indent(textwrap.dedent(spec).strip(), "  ") + "\n" if spec.strip() else ""
    meta = f"    metadata:\n      annotations: {{{annotations}}}\n" if annotations else ""
    return (f"apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n{spec_lines}"
            f"  template:\n{meta}    spec:\n      restartPolicy: {restart}\n"
            f"      containers: [{{name: {container}, image: busybox}}]\n")


def apply(c: Cluster, ns: str, text: str) -> None:
    c.kubectl("apply", "-n", ns, "-f", "-", input=text)


def get_job(c: Cluster, ns: str, name: str) -> dict:
    return json.loads(c.kubectl("get", "job", name, "-n", ns, "-o", "json").stdout)


def job_pods(c: Cluster, ns: str, name: str) -> list[dict]:
    out = c.kubectl("get", "pods", "-n", ns, "-l", f"batch.kubernetes.io/job-name={name}", "-o", "json").stdout
    return json.loads(out)["items"]


def condition(job: dict, kind: str) -> dict | None:
    for cond in job.get("status", {}).get("conditions") or []:
        if cond["type"] == kind and cond["status"] == "True":
            return cond
    return None


def wait_condition(c: Cluster, ns: str, name: str, kind: str, timeout: float = 60) -> dict:
    return wait_until(lambda: condition(job := get_job(c, ns, name), kind) and job, timeout, 0.2)


def row(c: Cluster, ns: str, name: str) -> list[str]:
    return c.kubectl("get", "job", name, "-n", ns, "--no-headers").stdout.split()


def active(pods: list[dict]) -> list[dict]:
    return [p for p in pods if p.get("status", {}).get("phase") not in ("Succeeded", "Failed")
            and not p["metadata"].get("deletionTimestamp")]


def stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class PodWatch:
    """Every pod event in a namespace (HTTP watch), with the active count after each one."""

    def __init__(self, c: Cluster, ns: str) -> None:
        self.pods: dict[str, dict] = {}
        self.active_counts: list[int] = []
        self.ready = threading.Event()
        self._client = c.http(timeout=None)
        self._thread = threading.Thread(target=self._run, args=(ns,), daemon=True)
        self._thread.start()
        assert self.ready.wait(10)

    def _run(self, ns: str) -> None:
        params = {"watch": "true", "allowWatchBookmarks": "false", "timeoutSeconds": "300"}
        try:
            with self._client.stream("GET", f"/api/v1/namespaces/{ns}/pods", params=params) as response:
                self.ready.set()
                for line in response.iter_lines():
                    if not line:
                        continue
                    event = json.loads(line)
                    pod = event["object"]
                    if event["type"] == "DELETED":
                        self.pods.pop(pod["metadata"]["name"], None)
                    else:
                        self.pods[pod["metadata"]["name"]] = pod
                    self.active_counts.append(len(active(list(self.pods.values()))))
        except Exception:
            self.ready.set()

    def close(self) -> None:
        self._client.close()


def test_kubectl_create_job_completes(jc: Cluster, jns: str):
    c = jc
    c.kubectl("create", "job", "hello", "--image=busybox", "-n", jns, "--", "echo", "hi")
    wait_until(lambda: row(c, jns, "hello")[1:3] == ["Complete", "1/1"], 60, 0.2)
    job = get_job(c, jns, "hello")
    status = job["status"]
    assert status["succeeded"] == 1 and status.get("active", 0) == 0 and status["ready"] == 0
    assert status["terminating"] == 0 and status["uncountedTerminatedPods"] == {}
    assert status["startTime"] and status["completionTime"]
    met, done = condition(job, "SuccessCriteriaMet"), condition(job, "Complete")
    assert met["reason"] == done["reason"] == "CompletionsReached"
    assert done["message"] == "Reached expected number of succeeded pods"
    [pod] = job_pods(c, jns, "hello")
    meta = pod["metadata"]
    assert meta["name"].startswith("hello-") and meta["generateName"] == "hello-"
    assert meta["labels"]["batch.kubernetes.io/job-name"] == "hello"
    assert meta["labels"]["batch.kubernetes.io/controller-uid"] == job["metadata"]["uid"]
    ref = meta["ownerReferences"][0]
    assert ref["kind"] == "Job" and ref["uid"] == job["metadata"]["uid"] and ref["controller"] is True
    assert not meta.get("finalizers"), "the tracking finalizer is removed once the pod is counted"
    describe = wait_until(lambda: "Job completed" in (d := c.kubectl("describe", "job", "hello", "-n", jns).stdout)
                          and d, 20, 0.2)
    assert "SuccessfulCreate" in describe and f"Created pod: {meta['name']}" in describe
    assert "Completed" in describe


def test_pods_carry_the_tracking_finalizer_while_running(jc: Cluster, jns: str):
    c = jc
    apply(c, jns, job_yaml("slow", annotations='sim.tinykube.io/exit-after: "1h"'))
    pod = wait_until(lambda: (p := job_pods(c, jns, "slow")) and p[0], 30, 0.2)
    assert pod["metadata"]["finalizers"] == ["batch.kubernetes.io/job-tracking"]
    wait_until(lambda: row(c, jns, "slow")[1] == "Running" and get_job(c, jns, "slow")["status"].get("active") == 1,
               30, 0.2)


def test_parallelism_one_runs_one_pod_at_a_time(jc: Cluster, jns: str):
    c = jc
    watch = PodWatch(c, jns)
    try:
        apply(c, jns, job_yaml("serial", "completions: 10\nparallelism: 1"))
        wait_condition(c, jns, "serial", "Complete", 120)
        wait_until(lambda: sum(1 for p in watch.pods.values() if p["status"].get("phase") == "Succeeded") == 10, 20)
    finally:
        watch.close()
    assert max(watch.active_counts) == 1, watch.active_counts
    assert len(watch.pods) == 10
    assert row(c, jns, "serial")[1:3] == ["Complete", "10/10"]


def test_parallelism_five_never_exceeded(jc: Cluster, jns: str):
    c = jc
    watch = PodWatch(c, jns)
    try:
        apply(c, jns, job_yaml("wide", "completions: 10\nparallelism: 5", 'sim.tinykube.io/exit-after: "3s"'))
        wait_condition(c, jns, "wide", "Complete", 120)
        wait_until(lambda: sum(1 for p in watch.pods.values() if p["status"].get("phase") == "Succeeded") == 10, 20)
    finally:
        watch.close()
    assert max(watch.active_counts) == 5, watch.active_counts
    assert len(watch.pods) == 10 and get_job(c, jns, "wide")["status"]["succeeded"] == 10


def test_work_queue_job_stops_after_first_success(jc: Cluster, jns: str):
    c = jc
    apply(c, jns, job_yaml("queue", "parallelism: 3"))
    job = get_job(c, jns, "queue")
    assert "completions" not in job["spec"]
    job = wait_condition(c, jns, "queue", "Complete", 60)
    assert job["status"]["succeeded"] >= 1
    assert len(job_pods(c, jns, "queue")) == 3, "no new pods once one has succeeded"
    assert row(c, jns, "queue")[1:5] == ["Complete", f"{job['status']['succeeded']}/1", "of", "3"]


def test_backoff_limit_exceeded_after_exactly_three_pods(jc: Cluster, jns: str):
    c = jc
    apply(c, jns, job_yaml("doomed", "backoffLimit: 2", 'sim.tinykube.io/exit-code: "1"'))
    job = wait_condition(c, jns, "doomed", "Failed", 120)
    failed = condition(job, "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert condition(job, "FailureTarget")["reason"] == "BackoffLimitExceeded"
    assert job["status"]["failed"] == 3 and not job["status"].get("succeeded")
    pods = job_pods(c, jns, "doomed")
    assert len(pods) == 3 and all(p["status"]["phase"] == "Failed" for p in pods)
    created = sorted(stamp(p["metadata"]["creationTimestamp"]) for p in pods)
    # pod-failure backoff: 10 s after the first failure, 20 s after the second (cluster time)
    assert created[1] - created[0] >= 10 and created[2] - created[1] >= 20, created
    assert row(c, jns, "doomed")[1:3] == ["Failed", "0/1"]
    describe = wait_until(lambda: "BackoffLimitExceeded" in (d := c.kubectl("describe", "job", "doomed", "-n", jns)
                                                             .stdout) and d, 20, 0.2)
    assert "Job has reached the specified backoff limit" in describe


def test_indexed_job_runs_each_index_once(jc: Cluster, jns: str):
    c = jc
    apply(c, jns, job_yaml("idx", "completions: 3\nparallelism: 3\ncompletionMode: Indexed"))
    job = wait_condition(c, jns, "idx", "Complete", 60)
    assert job["status"]["completedIndexes"] == "0-2" and job["status"]["succeeded"] == 3
    pods = job_pods(c, jns, "idx")
    assert len(pods) == 3
    seen = set()
    for pod in pods:
        meta, spec = pod["metadata"], pod["spec"]
        index = meta["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert meta["labels"]["batch.kubernetes.io/job-completion-index"] == index
        assert meta["name"].startswith(f"idx-{index}-")
        assert spec["hostname"] == f"idx-{index}"
        env = {e["name"]: e for e in spec["containers"][0]["env"]}
        assert env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == \
            "metadata.annotations['batch.kubernetes.io/job-completion-index']"
        seen.add(index)
    assert seen == {"0", "1", "2"}


def test_on_failure_restarts_count_against_backoff_limit(jc: Cluster, jns: str):
    c = jc
    # restartPolicy OnFailure: the container restarts in place; its restarts count as failures
    apply(c, jns, job_yaml("flaky", "backoffLimit: 1", 'sim.tinykube.io/fail-times: "5"', restart="OnFailure"))
    job = wait_condition(c, jns, "flaky", "Failed", 60)
    assert condition(job, "Failed")["reason"] == "BackoffLimitExceeded"
    assert job["status"]["failed"] == 1, "the one pod, deleted when the Job failed, counts as failed"
    wait_until(lambda: not job_pods(c, jns, "flaky"), 30, 0.2)


def test_active_deadline_exceeded(jc: Cluster, jns: str):
    c = jc
    apply(c, jns, job_yaml("late", "activeDeadlineSeconds: 5\nparallelism: 2\ncompletions: 2",
                           'sim.tinykube.io/exit-after: "1h"'))
    job = wait_condition(c, jns, "late", "Failed", 60)
    failed = condition(job, "Failed")
    assert failed["reason"] == "DeadlineExceeded" and failed["message"] == "Job was active longer than specified deadline"
    assert stamp(failed["lastTransitionTime"]) - stamp(job["status"]["startTime"]) >= 5
    assert not job["status"].get("active") and job["status"]["terminating"] == 0
    wait_until(lambda: not active(job_pods(c, jns, "late")), 30, 0.2)
    assert job["status"]["failed"] == 2
    describe = wait_until(lambda: "DeadlineExceeded" in (d := c.kubectl("describe", "job", "late", "-n", jns).stdout)
                          and d, 20, 0.2)
    assert "SuccessfulDelete" in describe


def test_ttl_after_finished_deletes_job_and_pods(jc: Cluster, jns: str):
    c = jc
    apply(c, jns, job_yaml("brief", "ttlSecondsAfterFinished: 5"))
    wait_condition(c, jns, "brief", "Complete", 60)
    wait_until(lambda: c.kubectl("get", "job", "brief", "-n", jns, check=False).returncode != 0, 60, 0.2)
    wait_until(lambda: not job_pods(c, jns, "brief"), 60, 0.2)


def test_suspend_and_resume(jc: Cluster, jns: str):
    c = jc
    apply(c, jns, job_yaml("napper", "suspend: true\ncompletions: 2\nparallelism: 2",
                           'sim.tinykube.io/exit-after: "1h"'))
    job = wait_condition(c, jns, "napper", "Suspended", 30)
    cond = condition(job, "Suspended")
    assert cond["reason"] == "JobSuspended" and cond["message"] == "Job suspended"
    assert not job["status"].get("startTime") and not job_pods(c, jns, "napper")
    assert row(c, jns, "napper")[1] == "Suspended"
    c.kubectl("patch", "job", "napper", "-n", jns, "-p", '{"spec":{"suspend":false}}')
    wait_until(lambda: len(active(job_pods(c, jns, "napper"))) == 2, 30, 0.2)
    job = get_job(c, jns, "napper")
    resumed = next(x for x in job["status"]["conditions"] if x["type"] == "Suspended")
    assert resumed["status"] == "False" and resumed["reason"] == "JobResumed" and resumed["message"] == "Job resumed"
    assert job["status"]["startTime"]
    c.kubectl("patch", "job", "napper", "-n", jns, "-p", '{"spec":{"suspend":true}}')
    wait_until(lambda: not job_pods(c, jns, "napper"), 30, 0.2)
    job = wait_condition(c, jns, "napper", "Suspended", 30)
    assert not job["status"].get("active") and not job["status"].get("failed"), "suspension is not a failure"
    describe = c.kubectl("describe", "job", "napper", "-n", jns).stdout
    assert "Job suspended" in describe and "Job resumed" in describe and "Deleted pod: napper-" in describe


def test_pod_failure_policy_fail_job(jc: Cluster, jns: str):
    c = jc
    spec = """\
        backoffLimit: 6
        podFailurePolicy:
          rules:
          - action: Ignore
            onPodConditions: [{type: DisruptionTarget}]
          - action: FailJob
            onExitCodes: {containerName: main, operator: In, values: [42]}
        """
    apply(c, jns, job_yaml("strict", spec, 'sim.tinykube.io/exit-code: "42"'))
    job = wait_condition(c, jns, "strict", "Failed", 60)
    [pod] = job_pods(c, jns, "strict")
    failed = condition(job, "Failed")
    assert failed["reason"] == "PodFailurePolicy"
    assert failed["message"] == (f"Container main for pod {jns}/{pod['metadata']['name']} failed with exit code 42 "
                                 "matching FailJob rule at index 1")
    assert condition(job, "FailureTarget")["message"] == failed["message"]
    assert job["status"]["failed"] == 1


def test_pod_failure_policy_ignore_does_not_count(jc: Cluster, jns: str):
    c = jc
    spec = """\
        backoffLimit: 0
        podFailurePolicy:
          rules:
          - action: Ignore
            onExitCodes: {operator: In, values: [1]}
        """
    # every pod exits 1, which is ignored: backoffLimit 0 is never exceeded, the pod is replaced
    apply(c, jns, job_yaml("lenient", spec, 'sim.tinykube.io/exit-code: "1"'))
    wait_until(lambda: sum(1 for p in job_pods(c, jns, "lenient") if p["status"].get("phase") == "Failed") >= 2,
               60, 0.2)
    job = get_job(c, jns, "lenient")
    assert not condition(job, "Failed") and not condition(job, "FailureTarget")
    assert not job["status"].get("failed")
    assert job["spec"]["podReplacementPolicy"] == "Failed"


def test_deleted_pod_is_counted_and_replaced_with_only_failed_replacement(jc: Cluster, jns: str):
    c = jc
    apply(c, jns, job_yaml("replaced", "podReplacementPolicy: Failed", 'sim.tinykube.io/exit-after: "1h"'))
    [pod] = wait_until(lambda: active(job_pods(c, jns, "replaced")), 30, 0.2)
    c.kubectl("delete", "pod", pod["metadata"]["name"], "-n", jns, "--wait=false")
    # the kubelet reports the killed pod Failed; the Job counts it, drops the finalizer, replaces it
    wait_until(lambda: (p := active(job_pods(c, jns, "replaced"))) and p[0]["metadata"]["uid"] != pod["metadata"]["uid"],
               30, 0.2)
    wait_until(lambda: get_job(c, jns, "replaced")["status"].get("failed") == 1, 30, 0.2)
    wait_until(lambda: pod["metadata"]["name"] not in {p["metadata"]["name"] for p in job_pods(c, jns, "replaced")},
               30, 0.2)


def test_parallelism_patch_scales_active_pods(jc: Cluster, jns: str):
    c = jc
    apply(c, jns, job_yaml("elastic", "completions: 10\nparallelism: 2", 'sim.tinykube.io/exit-after: "1h"'))
    wait_until(lambda: len(active(job_pods(c, jns, "elastic"))) == 2, 30, 0.2)
    c.kubectl("patch", "job", "elastic", "-n", jns, "-p", '{"spec":{"parallelism":4}}')
    wait_until(lambda: len(active(job_pods(c, jns, "elastic"))) == 4
               and get_job(c, jns, "elastic")["status"].get("active") == 4, 30, 0.2)
    c.kubectl("patch", "job", "elastic", "-n", jns, "-p", '{"spec":{"parallelism":1}}')
    wait_until(lambda: len(job_pods(c, jns, "elastic")) == 1
               and get_job(c, jns, "elastic")["status"].get("active") == 1, 30, 0.2)
    apply(c, jns, job_yaml("elastic", "completions: 10\nparallelism: 3", 'sim.tinykube.io/exit-after: "1h"'))
    wait_until(lambda: len(active(job_pods(c, jns, "elastic"))) == 3
               and get_job(c, jns, "elastic")["status"].get("active") == 3, 30, 0.2)
    job = get_job(c, jns, "elastic")
    assert not job["status"].get("failed"), "pods removed by a scale-down are not failures"


def test_create_job_from_cronjob(jc: Cluster, jns: str):
    c = jc
    c.kubectl("create", "cronjob", "nightly", "--image=busybox", "--schedule=0 0 1 1 *", "-n", jns, "--", "true")
    c.kubectl("create", "job", "manual", "--from=cronjob/nightly", "-n", jns)
    job = wait_condition(c, jns, "manual", "Complete", 60)
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert len(job_pods(c, jns, "manual")) == 1


def test_deleting_a_job_removes_its_pods(jc: Cluster, jns: str):
    c = jc
    apply(c, jns, job_yaml("gone", "completions: 3\nparallelism: 3", 'sim.tinykube.io/exit-after: "1h"'))
    wait_until(lambda: len(active(job_pods(c, jns, "gone"))) == 3, 30, 0.2)
    c.kubectl("delete", "job", "gone", "-n", jns)
    wait_until(lambda: not job_pods(c, jns, "gone"), 60, 0.2)


def test_orphaned_pods_lose_the_tracking_finalizer(jc: Cluster, jns: str):
    c = jc
    apply(c, jns, job_yaml("left", "completions: 2\nparallelism: 2", 'sim.tinykube.io/exit-after: "1h"'))
    wait_until(lambda: len(active(job_pods(c, jns, "left"))) == 2, 30, 0.2)
    c.kubectl("delete", "job", "left", "-n", jns, "--cascade=orphan")
    pods = wait_until(lambda: (p := job_pods(c, jns, "left")) and all(
        not x["metadata"].get("ownerReferences") and not x["metadata"].get("finalizers") for x in p) and p, 30, 0.2)
    assert len(active(pods)) == 2, "orphaned pods keep running"


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_restart_neither_loses_nor_double_counts_pods(fresh_cluster: Cluster, sig: str):
    import signal

    c = fresh_cluster
    args = ("--sim-nodes", "3", "--time-scale", SCALE)
    c.start(args)
    ns = create_namespace(c)
    apply(c, ns, job_yaml("steady", "completions: 8\nparallelism: 2", 'sim.tinykube.io/exit-after: "2s"'))
    wait_until(lambda: (get_job(c, ns, "steady")["status"].get("succeeded") or 0) >= 3, 60, 0.1)
    c.stop(getattr(signal, sig))
    c.start(args)
    job = wait_condition(c, ns, "steady", "Complete", 120)
    pods = job_pods(c, ns, "steady")
    succeeded = [p for p in pods if p["status"].get("phase") == "Succeeded"]
    failed = [p for p in pods if p["status"].get("phase") == "Failed"]
    assert job["status"]["succeeded"] == len(succeeded) >= 8
    assert (job["status"].get("failed") or 0) == len(failed)
    assert job["status"]["uncountedTerminatedPods"] == {}
    assert not any(p["metadata"].get("finalizers") for p in pods)

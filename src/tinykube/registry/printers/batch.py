"""Tables for the batch group: jobs and cronjobs."""

from __future__ import annotations

from datetime import datetime

from tinykube.machinery import selectors as _selector
from tinykube.registry.printers._common import (
    NONE, Cells, ColumnSpec, Obj, age, age_col, as_dict, as_int, as_list, bool_ptr,
    container_cells, container_cols, dig, human_duration, name_col, name_of, parse_timestamp, since,
)

JOB_COLUMNS = (
    name_col(),
    ColumnSpec("Status", text="Status of the job."),
    ColumnSpec("Completions", doc="batch.v1.JobStatus.succeeded"),
    ColumnSpec("Duration", text="Time required to complete the job."),
    age_col(),
    *container_cols("batch.v1.JobSpec.selector"),
)

CRONJOB_COLUMNS = (
    name_col(),
    ColumnSpec("Schedule", doc="batch.v1.CronJobSpec.schedule"),
    ColumnSpec("Timezone", doc="batch.v1.CronJobSpec.timeZone"),
    ColumnSpec("Suspend", "boolean", doc="batch.v1.CronJobSpec.suspend"),
    ColumnSpec("Active", "integer", doc="batch.v1.CronJobStatus.active"),
    ColumnSpec("Last Schedule", doc="batch.v1.CronJobStatus.lastScheduleTime"),
    age_col(),
    *container_cols("batch.v1.JobSpec.selector"),
)

# Conditions that name the job's state, in the order upstream checks them; Terminating
# (a deletionTimestamp) ranks right after the two terminal conditions.
_TERMINAL_CONDITIONS = ("Complete", "Failed")
_INTERIM_CONDITIONS = ("Suspended", "FailureTarget", "SuccessCriteriaMet")


def _condition_true(job: Obj, kind: str) -> bool:
    """hasJobCondition: the first condition of that type decides."""
    for cond in as_list(dig(job, "status", "conditions")):
        if as_dict(cond).get("type") == kind:
            return as_dict(cond).get("status") == "True"
    return False


def job_status(job: Obj) -> str:
    for kind in _TERMINAL_CONDITIONS:
        if _condition_true(job, kind):
            return kind
    if dig(job, "metadata", "deletionTimestamp") is not None:
        return "Terminating"
    for kind in _INTERIM_CONDITIONS:
        if _condition_true(job, kind):
            return kind
    return "Running"


def job_completions(job: Obj) -> str:
    """"succeeded/completions"; work-queue jobs (no completions) show "n/1" or "n/1 of parallelism"."""
    succeeded = as_int(dig(job, "status", "succeeded"))
    completions = dig(job, "spec", "completions")
    if completions is not None:
        return f"{succeeded}/{as_int(completions)}"
    parallelism = as_int(dig(job, "spec", "parallelism"))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(job: Obj, now: datetime) -> str:
    """Start to completion, or start to now while running; "" before the job starts."""
    start = parse_timestamp(dig(job, "status", "startTime"))
    if start is None:
        return ""
    end = parse_timestamp(dig(job, "status", "completionTime"))
    return human_duration(((end or now) - start).total_seconds())


def job_cells(job: Obj, now: datetime) -> Cells:
    names, images = container_cells(dig(job, "spec", "template", "spec"))
    return [
        name_of(job), job_status(job), job_completions(job), job_duration(job, now), age(job, now),
        names, images, _selector.format_label_selector(dig(job, "spec", "selector")),
    ]


def cronjob_cells(cj: Obj, now: datetime) -> Cells:
    job_spec = as_dict(dig(cj, "spec", "jobTemplate", "spec"))
    names, images = container_cells(dig(job_spec, "template", "spec"))
    last = dig(cj, "status", "lastScheduleTime")
    return [
        name_of(cj), str(dig(cj, "spec", "schedule", default="")),
        str(dig(cj, "spec", "timeZone", default=NONE)), bool_ptr(dig(cj, "spec", "suspend")),
        len(as_list(dig(cj, "status", "active"))), NONE if last is None else since(last, now),
        age(cj, now), names, images, _selector.format_label_selector(job_spec.get("selector")),
    ]


PRINTERS = {
    ("batch", "jobs"): (JOB_COLUMNS, job_cells),
    ("batch", "cronjobs"): (CRONJOB_COLUMNS, cronjob_cells),
}

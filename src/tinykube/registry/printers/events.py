"""The events table, shared by core/v1 and events.k8s.io/v1 (one printer upstream, too)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tinykube.registry.printers._common import (
    Cells, ColumnSpec, Obj, as_dict, as_int, dig, name_col, name_of, parse_timestamp, since, wide,
)

COLUMNS = (
    ColumnSpec("Last Seen", doc="core.v1.Event.lastTimestamp"),
    ColumnSpec("Type", doc="core.v1.Event.type"),
    ColumnSpec("Reason", doc="core.v1.Event.reason"),
    ColumnSpec("Object", doc="core.v1.Event.involvedObject"),
    wide("Subobject", doc="core.v1.ObjectReference.fieldPath"),
    wide("Source", doc="core.v1.Event.source"),
    ColumnSpec("Message", doc="core.v1.Event.message"),
    wide("First Seen", doc="core.v1.Event.firstTimestamp"),
    wide("Count", doc="core.v1.Event.count"),
    name_col(priority=1),
)

# events.k8s.io/v1 field -> core/v1 field, for the fields the table reads.
_EVENTS_API_FIELDS = (
    ("regarding", "involvedObject"), ("note", "message"), ("deprecatedCount", "count"),
    ("deprecatedFirstTimestamp", "firstTimestamp"), ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedSource", "source"), ("reportingController", "reportingComponent"),
    ("reportingInstance", "reportingInstance"), ("eventTime", "eventTime"), ("series", "series"),
    ("reason", "reason"), ("type", "type"), ("metadata", "metadata"),
)


def as_core_event(event: Obj) -> Obj:
    """An events.k8s.io/v1 Event in core/v1 field names."""
    return {core: event[new] for new, core in _EVENTS_API_FIELDS if new in event}


def _timestamps(event: Obj, now: datetime) -> tuple[str, str]:
    """(LAST SEEN, FIRST SEEN): deprecated timestamps, else eventTime, else series time."""
    first_raw = event.get("firstTimestamp")
    first = since(first_raw if parse_timestamp(first_raw) else event.get("eventTime"), now)
    last_raw = event.get("lastTimestamp")
    last = since(last_raw, now) if parse_timestamp(last_raw) else first
    series = event.get("series")
    if series is not None:
        last = since(as_dict(series).get("lastObservedTime"), now)
    return last, first


def _count(event: Obj) -> int:
    series = event.get("series")
    if series is not None:
        return as_int(as_dict(series).get("count"))
    return as_int(event.get("count")) or 1  # singleton events carry no count in the new API


def _target(event: Obj) -> str:
    kind = str(dig(event, "involvedObject", "kind", default="")).lower()
    name = dig(event, "involvedObject", "name", default="")
    return f"{kind}/{name}" if name else kind


def _source(event: Obj) -> str:
    """"component, host", each falling back to the reporting controller / instance."""
    component = dig(event, "source", "component", default="") or event.get("reportingComponent") or ""
    instance = dig(event, "source", "host", default="") or event.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else str(component)


def event_cells(event: Obj, now: datetime) -> Cells:
    """Cells of a core/v1 Event."""
    last, first = _timestamps(event, now)
    cells: list[Any] = [
        last, str(event.get("type") or ""), str(event.get("reason") or ""), _target(event),
        str(dig(event, "involvedObject", "fieldPath", default="")), _source(event),
        str(event.get("message") or "").strip(), first, _count(event), name_of(event),
    ]
    return cells


def events_api_cells(event: Obj, now: datetime) -> Cells:
    """Cells of an events.k8s.io/v1 Event: the same row its core/v1 twin gets."""
    return event_cells(as_core_event(event), now)


PRINTERS = {
    ("", "events"): (COLUMNS, event_cells),
    ("events.k8s.io", "events"): (COLUMNS, events_api_cells),
}

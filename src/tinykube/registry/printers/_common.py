"""Shared pieces of the printers: column definitions, time cells, small formatters.

Behaviour follows upstream's pkg/printers/internalversion and
k8s.io/apimachinery/pkg/util/duration, re-expressed over wire-format dicts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tinykube.clock import parse_time

Obj = Mapping[str, Any]
Cells = list[Any]
CellsFn = Callable[[Obj, datetime], Cells]

NONE = "<none>"
UNKNOWN = "<unknown>"
UNSET = "<unset>"

TEMPLATE_CONTAINERS = "Names of each container in the template."
TEMPLATE_IMAGES = "Images referenced by each container in the template."
READY_PODS = "Number of the pod with ready state"


# ----------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    """One metav1.TableColumnDefinition."""

    name: str
    type: str
    format: str = ""
    description: str = ""
    priority: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": self.description, "priority": self.priority}


@dataclass(frozen=True)
class ColumnSpec:
    """A column whose description is either literal text or a schema field reference.

    `doc` names a field as "<group>.<version>.<Type>.<field>", e.g. "core.v1.PodSpec.nodeName";
    the description is then that field's API documentation (upstream uses SwaggerDoc()).
    """

    name: str
    type: str = "string"
    doc: str = ""
    text: str = ""
    priority: int = 0
    format: str = ""

    def build(self) -> Column:
        description = self.text or (field_doc(self.doc) if self.doc else "")
        return Column(self.name, self.type, self.format, description, self.priority)


def name_col(priority: int = 0) -> ColumnSpec:
    return ColumnSpec("Name", doc="meta.v1.ObjectMeta.name", format="name", priority=priority)


def age_col() -> ColumnSpec:
    return ColumnSpec("Age", doc="meta.v1.ObjectMeta.creationTimestamp")


def wide(name: str, type_: str = "string", *, doc: str = "", text: str = "") -> ColumnSpec:
    """A column shown only by `kubectl get -o wide` (priority 1)."""
    return ColumnSpec(name, type_, doc=doc, text=text, priority=1)


def container_cols(selector_doc: str | None = None) -> tuple[ColumnSpec, ...]:
    """The wide CONTAINERS, IMAGES and (optionally) SELECTOR columns of workload tables."""
    cols = (wide("Containers", text=TEMPLATE_CONTAINERS), wide("Images", text=TEMPLATE_IMAGES))
    if selector_doc is not None:
        cols += (wide("Selector", doc=selector_doc),)
    return cols


def _definition_name(type_path: str) -> str:
    if type_path.startswith("meta."):
        return "io.k8s.apimachinery.pkg.apis." + type_path
    return "io.k8s.api." + type_path


@functools.cache
def field_doc(ref: str) -> str:
    """The API documentation of a field, e.g. field_doc("core.v1.PodStatus.podIP"); "" if unknown."""
    from tinykube.machinery.schema import definitions  # heavy; loaded on first table request

    type_path, _, field = ref.rpartition(".")
    schema = definitions().get(_definition_name(type_path), {})
    prop = schema.get("properties", {}).get(field, {})
    return str(prop.get("description", ""))


# ----------------------------------------------------------------------------- object access


def dig(obj: Any, *path: str, default: Any = None) -> Any:
    """obj[path[0]][path[1]]...; `default` when any step is missing or null."""
    cur = obj
    for key in path:
        if type(cur) is not dict and not isinstance(cur, Mapping):  # exact dict first: the hot path
            return default
        cur = cur.get(key)
        if cur is None:
            return default
    return cur


def as_int(value: Any) -> int:
    """An integer field as Go reads it: absent or malformed means 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return 0


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def name_of(obj: Obj) -> str:
    return str(dig(obj, "metadata", "name", default=""))


# ----------------------------------------------------------------------------- time


def human_duration(seconds: float) -> str:
    """A duration with ~2-3 significant figures, as upstream duration.HumanDuration."""
    whole_seconds = int(seconds)  # truncates toward zero, like Go's int(d.Seconds())
    if whole_seconds < -1:
        return "<invalid>"
    if whole_seconds < 0:
        return "0s"
    if whole_seconds < 120:
        return f"{whole_seconds}s"
    minutes = whole_seconds // 60
    if minutes < 10:
        rest = whole_seconds % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d" if rest == 0 else f"{days}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        rest = days % 365
        return f"{years}y" if rest == 0 else f"{years}y{rest}d"
    return f"{years}y"


def parse_timestamp(value: Any) -> datetime | None:
    """A metav1.Time/MicroTime string as an aware datetime; None when absent or unparseable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = parse_time(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def since(value: Any, now: datetime) -> str:
    """translateTimestampSince: the human age of a timestamp, "<unknown>" when unset."""
    moment = parse_timestamp(value)
    if moment is None:
        return UNKNOWN
    return human_duration((now - moment).total_seconds())


def age(obj: Obj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


def rfc3339(value: Any) -> str:
    """A timestamp as Go formats time.RFC3339 in UTC; the zero time when unset."""
    moment = parse_timestamp(value)
    if moment is None:
        return "0001-01-01T00:00:00Z"
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------- formatters


def format_labels(labels: Any) -> str:
    """labels.FormatLabels: "k=v,k2=v2" sorted by key, "<none>" when empty."""
    pairs = as_dict(labels)
    if not pairs:
        return NONE
    return ",".join(f"{key}={pairs[key]}" for key in sorted(pairs))


def container_cells(pod_spec: Any) -> tuple[str, str]:
    """layoutContainerCells: the containers' names and images, comma-joined."""
    containers = [as_dict(c) for c in as_list(dig(pod_spec, "containers"))]
    names = ",".join(str(c.get("name", "")) for c in containers)
    images = ",".join(str(c.get("image", "")) for c in containers)
    return names, images


def bool_ptr(value: Any) -> str:
    """printBoolPtr: "True"/"False", "<unset>" when absent."""
    if value is None:
        return UNSET
    return "True" if value else "False"


def quantity(value: Any) -> str:
    """A resource.Quantity cell; we keep the wire string (already canonical when served)."""
    if value is None:
        return "0"
    return str(value)

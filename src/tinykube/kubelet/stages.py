"""How long a simulated pod spends in each step of its life, as data (after kwok's Stages).

A stage names a step of the simulated lifecycle, how long the step takes (a delay plus a
random jitter) and, optionally, which pods it applies to (a label selector). The first stage
that names the step and matches the pod wins, so specific stages go before general ones.
`tinykube server --sim-stages FILE` replaces the defaults with a YAML file:

    stages:
    - step: start           # ContainerCreating -> Running
      selector: app=slow
      delay: 10s
    - step: start
      delay: 500ms
      jitter: 500ms

Steps: `create` (bound -> ContainerCreating), `start` (ContainerCreating -> Running),
`ready` (Running -> Ready, on top of any readinessProbe initialDelaySeconds) and
`terminate` (deletion requested -> containers stopped and the pod removed; never longer
than the pod's grace period).
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tinykube.machinery.selectors import parse_label_selector

STEPS = ("create", "start", "ready", "terminate")
DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: Any) -> float:
    """Go-style durations ("1m30s", "500ms") or plain numbers of seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"negative duration {text!r}")
        return float(text)
    value = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    pos, total = 0, 0.0
    for match in DURATION.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(value) or not value:
        raise ValueError(f"invalid duration {text!r} (use e.g. 500ms, 2s, 1m30s)")
    return total


@dataclass(frozen=True)
class Stage:
    step: str
    delay: float = 0.0
    jitter: float = 0.0
    selector: str = ""

    def matches(self, pod: dict[str, Any]) -> bool:
        if not self.selector:
            return True
        return _selector(self.selector).matches((pod.get("metadata") or {}).get("labels") or {})


@lru_cache(maxsize=256)
def _selector(text: str):  # type: ignore[no-untyped-def]
    return parse_label_selector(text)


DEFAULT_STAGES = (
    Stage("create", 0.0),
    Stage("start", 0.3, 0.4),  # a moment of ContainerCreating, as pulling a cached image takes
    Stage("ready", 0.0),
    Stage("terminate", 0.2),
)


def stages_from_data(data: Any) -> tuple[Stage, ...]:
    """Validate a parsed stages document; errors name the entry at fault."""
    entries = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError("a stages file holds a mapping with a `stages` list")
    stages = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"stages[{i}]: must be a mapping")
        unknown = set(entry) - {"step", "delay", "jitter", "selector"}
        if unknown:
            raise ValueError(f"stages[{i}]: unknown field(s) {', '.join(sorted(unknown))}")
        step = entry.get("step")
        if step not in STEPS:
            raise ValueError(f"stages[{i}].step: must be one of {', '.join(STEPS)}")
        selector = str(entry.get("selector") or "")
        if selector:
            parse_label_selector(selector)  # raises on a malformed selector
        try:
            stage = Stage(step, parse_duration(entry.get("delay", 0)), parse_duration(entry.get("jitter", 0)), selector)
        except ValueError as exc:
            raise ValueError(f"stages[{i}]: {exc}") from None
        stages.append(stage)
    return tuple(stages) + DEFAULT_STAGES  # defaults catch any step the file does not cover


def load_stages(path: str | Path) -> tuple[Stage, ...]:
    with open(path, encoding="utf-8") as fh:
        return stages_from_data(yaml.safe_load(fh))


def stage_delay(stages: tuple[Stage, ...], step: str, pod: dict[str, Any], rng: random.Random) -> float:
    for stage in stages:
        if stage.step == step and stage.matches(pod):
            return stage.delay + (rng.uniform(0, stage.jitter) if stage.jitter else 0.0)
    return 0.0

"""A container's environment and command line, as the kubelet computes them.

Pure functions: the caller fetches the ConfigMaps and Secrets a container refers to
(`referenced_sources`) and passes them in, so every rule here is table-tested without an API.

* `expand` is the `$(VAR)` expansion of command, args and env values: `$(NAME)` becomes the
  variable's value when NAME is defined, and stays verbatim when it is not; `$$` is an escaped
  `$`; anything else after `$` (including an unclosed `$(`) is kept as written.
* `container_env` follows makeEnvironmentVariables: envFrom sources in order (with prefix,
  invalid keys skipped and reported), then `env` in order, each value expanded against the
  variables defined before it; later definitions replace earlier ones in place.
* Service variables (`KUBERNETES_SERVICE_HOST`..., see serviceenv.py) can be referred to by
  `$(VAR)` and are set unless the container defines the same name.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from tinykube.machinery.quantity import parse_quantity

Obj = dict[str, Any]

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")  # C_IDENTIFIER relaxed as upstream since 1.26


class EnvError(Exception):
    """The container cannot be created: a referenced ConfigMap, Secret or key is missing."""


def expand(text: str, lookup: Callable[[str], str | None]) -> str:
    """`$(VAR)` expansion with Kubernetes' rules (see module docstring)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close < 0:
                out.append("$(")
                i += 2
                continue
            name = text[i + 2:close]
            value = lookup(name)
            out.append(value if value is not None else f"$({name})")
            i = close + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def mapping(*layers: dict[str, str]) -> Callable[[str], str | None]:
    """A lookup over several variable maps, first match wins."""
    def lookup(name: str) -> str | None:
        for layer in layers:
            if name in layer:
                return layer[name]
        return None
    return lookup


@dataclass
class PodFacts:
    """What fieldRef and resourceFieldRef may read besides the pod itself."""

    pod_ip: str
    host_ip: str
    node_allocatable: dict[str, str] = field(default_factory=dict)


@dataclass
class Sources:
    """The ConfigMaps and Secrets of the pod's namespace a container refers to (None: missing)."""

    configmaps: dict[str, Obj | None] = field(default_factory=dict)
    secrets: dict[str, Obj | None] = field(default_factory=dict)

    def data(self, kind: str, name: str) -> dict[str, str] | None:
        if kind == "configmap":
            obj = self.configmaps.get(name)
            if obj is None:
                return None
            out = dict(obj.get("data") or {})
            for key, value in (obj.get("binaryData") or {}).items():
                out.setdefault(key, base64.b64decode(value).decode("utf-8", "replace"))
            return out
        obj = self.secrets.get(name)
        if obj is None:
            return None
        out = {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (obj.get("data") or {}).items()}
        out.update(obj.get("stringData") or {})
        return out


def referenced_sources(container: Obj) -> set[tuple[str, str]]:
    """("configmap"|"secret", name) for every source the container's environment reads."""
    refs: set[tuple[str, str]] = set()
    for source in container.get("envFrom") or []:
        if source.get("configMapRef"):
            refs.add(("configmap", source["configMapRef"].get("name", "")))
        if source.get("secretRef"):
            refs.add(("secret", source["secretRef"].get("name", "")))
    for var in container.get("env") or []:
        value_from = var.get("valueFrom") or {}
        if value_from.get("configMapKeyRef"):
            refs.add(("configmap", value_from["configMapKeyRef"].get("name", "")))
        if value_from.get("secretKeyRef"):
            refs.add(("secret", value_from["secretKeyRef"].get("name", "")))
    return refs


_KIND_WORD = {"configmap": "configmap", "secret": "secret"}
_KIND_TITLE = {"configmap": "ConfigMap", "secret": "Secret"}


def _key_ref(kind: str, ref: Obj, namespace: str, sources: Sources) -> str | None:
    name, key, optional = ref.get("name", ""), ref.get("key", ""), bool(ref.get("optional"))
    data = sources.data(kind, name)
    if data is None:
        if optional:
            return None
        raise EnvError(f'{_KIND_WORD[kind]} "{name}" not found')
    if key not in data:
        if optional:
            return None
        raise EnvError(f"couldn't find key {key} in {_KIND_TITLE[kind]} {namespace}/{name}")
    return data[key]


_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


def field_ref(pod: Obj, path: str, facts: PodFacts) -> str:
    """The value of a downward-API fieldRef for an environment variable."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    match = _SUBSCRIPT.match(path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    simple = {"metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
              "metadata.uid": meta.get("uid", ""), "spec.nodeName": spec.get("nodeName", ""),
              "spec.serviceAccountName": spec.get("serviceAccountName", ""),
              "status.hostIP": facts.host_ip, "status.hostIPs": facts.host_ip,
              "status.podIP": facts.pod_ip, "status.podIPs": facts.pod_ip}
    if path in simple:
        return str(simple[path] or "")
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    raise EnvError(f"unsupported fieldPath: {path}")


def resource_field_ref(pod: Obj, container: Obj, ref: Obj, facts: PodFacts) -> str:
    """limits.cpu/requests.memory... divided by the divisor and rounded up, as upstream.

    A limit that is not set reads the node's allocatable amount.
    """
    target = container
    if ref.get("containerName"):
        for ctr in ((pod.get("spec") or {}).get("containers") or []) + \
                ((pod.get("spec") or {}).get("initContainers") or []):
            if ctr.get("name") == ref["containerName"]:
                target = ctr
    resource = ref.get("resource", "")
    kind, _, name = resource.partition(".")
    resources = target.get("resources") or {}
    raw = (resources.get(kind) or {}).get(name)
    if raw is None and kind == "requests":
        raw = (resources.get("limits") or {}).get(name)
    if raw is None:
        raw = facts.node_allocatable.get(name, "0")
    divisor = parse_quantity(str(ref.get("divisor") or "1"))
    if not divisor.value:
        raise EnvError(f"invalid divisor for {resource}")
    value = parse_quantity(str(raw)).value / divisor.value
    return str(max(0, math.ceil(value)) if name == "cpu" else math.ceil(value))


def container_env(pod: Obj, container: Obj, facts: PodFacts, sources: Sources,
                  base: dict[str, str] | None = None,
                  services: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """The container's environment (on top of `base`) and warnings about skipped envFrom keys."""
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    env: dict[str, str] = {}
    warnings: list[str] = []
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        kind, ref = ("configmap", source.get("configMapRef")) if source.get("configMapRef") else \
            ("secret", source.get("secretRef") or {})
        name = (ref or {}).get("name", "")
        data = sources.data(kind, name)
        if data is None:
            if (ref or {}).get("optional"):
                continue
            raise EnvError(f'{_KIND_WORD[kind]} "{name}" not found')
        invalid = []
        for key in sorted(data):
            if not _ENV_NAME.match(prefix + key):
                invalid.append(prefix + key)
                continue
            env[prefix + key] = data[key]
        if invalid:
            warnings.append(f"Keys [{', '.join(invalid)}] from the EnvFrom {kind} {namespace}/{name} were skipped "
                            f"since they are considered invalid environment variable names.")
    for var in container.get("env") or []:
        name = var.get("name", "")
        value_from = var.get("valueFrom")
        if value_from is None:
            env[name] = expand(str(var.get("value", "")), mapping(env, services or {}))
            continue
        if value_from.get("fieldRef"):
            env[name] = field_ref(pod, value_from["fieldRef"].get("fieldPath", ""), facts)
        elif value_from.get("resourceFieldRef"):
            env[name] = resource_field_ref(pod, container, value_from["resourceFieldRef"], facts)
        elif value_from.get("configMapKeyRef") or value_from.get("secretKeyRef"):
            kind = "configmap" if value_from.get("configMapKeyRef") else "secret"
            value = _key_ref(kind, value_from.get("configMapKeyRef") or value_from["secretKeyRef"], namespace,
                             sources)
            if value is None:
                continue
            env[name] = value
    merged = dict(base or {})
    merged.update(services or {})
    merged.update(env)
    return merged, warnings


def command_line(entrypoint: list[str], cmd: list[str], container: Obj, env: dict[str, str]) -> list[str]:
    """The argv to run: the container's command/args over the image's ENTRYPOINT/CMD, expanded.

    As Docker and the kubelet combine them: `command` replaces the entrypoint and drops the
    image's CMD; `args` replaces CMD.
    """
    command = container.get("command")
    args = container.get("args")
    lookup = mapping(env)
    if command:
        argv = [expand(c, lookup) for c in command] + [expand(a, lookup) for a in args or []]
    else:
        argv = list(entrypoint) + ([expand(a, lookup) for a in args] if args else list(cmd))
    return argv

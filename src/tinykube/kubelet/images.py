"""The image table: what a container without `command` runs, since there are no images to pull.

An image is looked up by its repository's last path element without tag or digest
(`docker.io/library/nginx:1.17` → `nginx`, `kbzjung359/kia-unhealthy` → `kia-unhealthy`), or by
its full repository name (`kbzjung359/kia-unhealthy`) when the table has that. An entry gives
the image's ENTRYPOINT (`command`), CMD (`args`), `env` and `workingDir`, combined with the
container's as Docker does. Entries may use the runtime's own variables:

    $(TINYKUBE_PYTHON)   the server's Python interpreter
    $(TINYKUBE_PORT)     the container's first containerPort (80 without one)
    $(TINYKUBE_HTML)     the pod's web root (nginx's /usr/share/nginx/html)
    $(TINYKUBE_POD_IP)   the pod's own address (its pod IP)
    $(TINYKUBE_LISTEN_ADDRESS)  where a server in the pod listens: 0.0.0.0 in a pod sandbox (its
                         own network, as a real image listens), the pod IP on the host network

`--image-table FILE` is YAML of the same shape as DEFAULT_TABLE (`images: {name: entry}`),
merged over the defaults entry by entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_SHELL = {"args": ["sh"]}
DEFAULT_TABLE: dict[str, dict[str, Any]] = {
    # a static file server in place of nginx: serves the pod's web root on the containerPort
    "nginx": {"command": ["$(TINYKUBE_PYTHON)", "-m", "tinykube.kubelet.staticserver",
                          "--address", "$(TINYKUBE_LISTEN_ADDRESS)", "--port", "$(TINYKUBE_PORT)",
                          "--root", "$(TINYKUBE_HTML)"]},
    # CMD is a shell, which exits at once without a terminal, as under Docker
    "busybox": _SHELL, "alpine": _SHELL, "ubuntu": {"args": ["bash"]}, "debian": {"args": ["bash"]},
    # interpreters: the host's; their default CMD (a REPL) also exits at once without a terminal
    "perl": {"args": ["perl", "-de0"]},
    "python": {"args": ["python3"]},
    "node": {"args": ["node"]},
}


@dataclass(frozen=True)
class ImageEntry:
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    working_dir: str = ""

    @property
    def runnable(self) -> bool:
        return bool(self.command or self.args)


@dataclass
class ImageTable:
    entries: dict[str, ImageEntry] = field(default_factory=dict)
    source: str = "the built-in image table"

    def lookup(self, image: str) -> ImageEntry | None:
        repo = repository(image)
        if repo in self.entries:
            return self.entries[repo]
        short = repo.rsplit("/", 1)[-1]
        return self.entries.get(short)


def repository(image: str) -> str:
    """The repository of an image reference: no registry host, no `library/`, no tag or digest."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name[: len(name) - len(last[-1]) + last[-1].index(":")]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if len(parts) > 1 and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts)


def _entry(name: str, raw: Any) -> ImageEntry:
    if not isinstance(raw, dict):
        raise ValueError(f"images.{name}: must be a mapping")
    for key in ("command", "args"):
        value = raw.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ValueError(f"images.{name}.{key}: must be a list of strings")
    env = raw.get("env") or {}
    if not isinstance(env, dict):
        raise ValueError(f"images.{name}.env: must be a mapping of names to values")
    return ImageEntry(tuple(raw.get("command") or ()), tuple(raw.get("args") or ()),
                      tuple((str(k), str(v)) for k, v in env.items()), str(raw.get("workingDir") or ""))


def build_table(overrides: dict[str, Any] | None = None, source: str = "") -> ImageTable:
    raw = dict(DEFAULT_TABLE)
    raw.update(overrides or {})
    table = ImageTable({name: _entry(name, value) for name, value in raw.items()})
    if source:
        table.source = f"the image table ({source} over the built-in one)"
    return table


def load_table(path: Path | None) -> ImageTable:
    """The defaults, with the entries of `path` (YAML `images: {...}`) merged over them."""
    if path is None:
        return build_table()
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict) or not isinstance(data.get("images", {}), dict):
        raise ValueError("expected a mapping with an `images` mapping")
    return build_table(data.get("images") or {}, str(path))


def not_runnable_message(image: str, table: ImageTable) -> str:
    return (f'image "{image}" has no entrypoint in {table.source} and the container has no command: '
            f"give the container a command, or add the image to a table passed with --image-table")

"""The /etc/resolv.conf a pod gets, as the kubelet composes it (pkg/kubelet/network/dns) and the
container runtime writes it: by dnsPolicy, then merged with the pod's dnsConfig."""

from __future__ import annotations

from pathlib import Path
from typing import Any

Obj = dict[str, Any]
DEFAULT_OPTIONS = ["ndots:5"]
MAX_NAMESERVERS = 3
MAX_SEARCHES = 32


def parse_resolv_conf(text: str) -> tuple[list[str], list[str], list[str]]:
    """(nameservers, searches, options) of a resolv.conf; the last search/domain line wins."""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        if parts[0] == "nameserver" and len(parts) > 1:
            servers.append(parts[1])
        elif parts[0] in ("search", "domain"):
            searches = parts[1:]
        elif parts[0] == "options":
            options.extend(parts[1:])
    return servers, searches, options


def _merge_options(base: list[str], extra: list[Obj]) -> list[str]:
    """dnsConfig options override same-named ones (ndots:5 → ndots:2), keeping first positions."""
    merged: dict[str, str] = {}
    for option in base:
        name, _, value = option.partition(":")
        merged[name] = option
    for option in extra:
        name = str(option.get("name") or "")
        if not name:
            continue
        value = option.get("value")
        merged[name] = f"{name}:{value}" if value not in (None, "") else name
    return list(merged.values())


def _unique(values: list[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen


def pod_resolv_conf(pod: Obj, nameserver: str, cluster_domain: str = "cluster.local",
                    host_resolv_conf: str | None = None) -> str:
    """resolv.conf text for `pod`; `nameserver` is the cluster DNS address (kube-dns's ClusterIP).
    `host_resolv_conf` (default: the host's /etc/resolv.conf) feeds dnsPolicy Default and the
    host search domains ClusterFirst appends."""
    if host_resolv_conf is None:
        try:
            host_resolv_conf = Path("/etc/resolv.conf").read_text()
        except OSError:
            host_resolv_conf = ""
    host_servers, host_searches, host_options = parse_resolv_conf(host_resolv_conf)
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        policy = "Default"  # ClusterFirst on the host network falls back, as the kubelet does
    namespace = (pod.get("metadata") or {}).get("namespace") or "default"
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        domain = cluster_domain.strip(".")
        servers = [nameserver]
        searches = [f"{namespace}.svc.{domain}", f"svc.{domain}", domain] + host_searches
        options = list(DEFAULT_OPTIONS)
    elif policy == "None":
        servers, searches, options = [], [], []
    else:  # Default: the node's resolver
        servers, searches, options = host_servers, host_searches, host_options
    config = spec.get("dnsConfig") or {}
    servers = _unique(servers + [str(s) for s in config.get("nameservers") or []])[:MAX_NAMESERVERS]
    searches = _unique(searches + [str(s) for s in config.get("searches") or []])[:MAX_SEARCHES]
    options = _merge_options(options, [o for o in config.get("options") or [] if isinstance(o, dict)])
    lines = []
    if searches:
        lines.append("search " + " ".join(searches))
    lines.extend(f"nameserver {server}" for server in servers)
    if options:
        lines.append("options " + " ".join(options))
    return "".join(line + "\n" for line in lines)

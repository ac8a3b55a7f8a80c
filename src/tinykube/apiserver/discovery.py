"""API discovery documents: aggregated (apidiscovery.k8s.io v2 / v2beta1) and the legacy lists.

kubectl asks for the aggregated form first and learns resources, short names, categories,
verbs and subresources from it; older clients walk /api/v1 and /apis/{group}/{version}.
"""

from __future__ import annotations

import functools
from typing import Any

from tinykube.registry.resources import PREFERRED_VERSION, RESOURCE_INDEX, Resource
from tinykube.machinery.schema import KUBERNETES_MINOR

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"


def version_info() -> dict[str, str]:
    return {
        "major": "1",
        "minor": KUBERNETES_MINOR.split(".")[1],
        "gitVersion": f"v{KUBERNETES_MINOR}.0-tinykube",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def aggregated_media_type(accept: str) -> str | None:
    """Which aggregated discovery type the client accepts, if any (v2 preferred)."""
    if "as=APIGroupDiscoveryList" not in accept:
        return None
    for part in accept.split(","):
        part = part.strip()
        if "g=apidiscovery.k8s.io" in part and "as=APIGroupDiscoveryList" in part:
            if "v=v2beta1" in part:
                continue
            if "v=v2" in part:
                return AGGREGATED_V2
    return AGGREGATED_V2BETA1 if "v=v2beta1" in accept else None


def _aggregated_resource(res: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": res.plural,
        "responseKind": {"group": res.group, "version": res.version, "kind": res.kind},
        "scope": "Namespaced" if res.namespaced else "Cluster",
        "singularResource": res.singular,
        "verbs": sorted(res.verbs),
    }
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    if res.subresources:
        entry["subresources"] = [
            {"subresource": sub.name,
             "responseKind": {"group": sub.group, "version": sub.version, "kind": sub.kind},
             "verbs": sorted(sub.verbs)}
            for sub in res.subresources
        ]
    return entry


@functools.cache
def aggregated(core: bool, api_version: str) -> dict[str, Any]:
    """The APIGroupDiscoveryList for /api (core=True) or /apis."""
    groups = []
    for group, versions in RESOURCE_INDEX.group_versions():
        if (group == "") != core:
            continue
        versions_out = [{
            "version": version,
            "resources": [_aggregated_resource(r) for r in sorted(RESOURCE_INDEX.in_group_version(group, version),
                                                                   key=lambda r: r.plural)],
            "freshness": "Current",
        } for version in versions]
        groups.append({"metadata": {"name": group} if group else {}, "versions": versions_out})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": groups}


def legacy_api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    preferred = PREFERRED_VERSION[group]
    return {"name": group, "versions": gvs,
            "preferredVersion": {"groupVersion": f"{group}/{preferred}", "version": preferred}}


def legacy_group_list() -> dict[str, Any]:
    groups = [_group_entry(g, vs) for g, vs in RESOURCE_INDEX.group_versions() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def legacy_group(group: str) -> dict[str, Any] | None:
    for g, versions in RESOURCE_INDEX.group_versions():
        if g == group and g:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(g, versions)}
    return None


def legacy_resource_list(group: str, version: str) -> dict[str, Any] | None:
    resources = RESOURCE_INDEX.in_group_version(group, version)
    if not resources:
        return None
    out = []
    for res in sorted(resources, key=lambda r: r.plural):
        entry: dict[str, Any] = {
            "name": res.plural, "singularName": res.singular, "namespaced": res.namespaced,
            "kind": res.kind, "verbs": sorted(res.verbs),
        }
        if res.short_names:
            entry["shortNames"] = list(res.short_names)
        if res.categories:
            entry["categories"] = list(res.categories)
        out.append(entry)
        for sub in res.subresources:
            sub_entry: dict[str, Any] = {"name": f"{res.plural}/{sub.name}", "singularName": "",
                                         "namespaced": res.namespaced, "kind": sub.kind,
                                         "verbs": sorted(sub.verbs)}
            if sub.group:
                sub_entry["group"] = sub.group
                sub_entry["version"] = sub.version
            out.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}

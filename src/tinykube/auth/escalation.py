"""RBAC escalation prevention, as upstream's role and binding storage: a user may write a Role or
ClusterRole only with rules it holds itself (or the `escalate` verb), and bind a role only if it
holds the role's rules (or the `bind` verb on it). Writes from inside the server (controllers,
the LocalClient) carry no request user and are not checked."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Mapping

from tinykube.auth import rbac
from tinykube.auth.authorizer import Authorizer
from tinykube.auth.requestinfo import Attributes
from tinykube.auth.user import MASTERS, UserInfo
from tinykube.machinery.errors import StatusError

GROUP = "rbac.authorization.k8s.io"
Obj = dict[str, Any]

# the user of the API request being served; None inside the server's own components
request_user: ContextVar[UserInfo | None] = ContextVar("request_user", default=None)


def _go_strings(values: Any) -> str:
    return "[" + " ".join(f'"{v}"' for v in values) + "]"


def compact_string(rule: Mapping[str, Any]) -> str:
    """A rule as upstream's CompactString prints it in escalation messages."""
    fields = []
    for key, label in (("apiGroups", "APIGroups"), ("resources", "Resources"), ("resourceNames", "ResourceNames"),
                       ("nonResourceURLs", "NonResourceURLs"), ("verbs", "Verbs")):
        if rule.get(key):
            fields.append(f"{label}:{_go_strings(rule[key])}")
    return "{" + ", ".join(fields) + "}"


def missing_rules(owned: list[Mapping[str, Any]], requested: list[Mapping[str, Any]]) -> list[Obj]:
    """The parts of `requested` not covered by `owned`, one rule per (group, resource, name) or URL
    with the verbs it lacks, as upstream breaks rules down and compacts them again."""
    missing: dict[tuple, list[str]] = {}
    for rule in requested:
        for verb in rule.get("verbs") or ():
            if rule.get("nonResourceURLs"):
                for url in rule["nonResourceURLs"]:
                    if not rbac.covers(owned, {"verbs": [verb], "nonResourceURLs": [url]}):
                        missing.setdefault(("url", url), []).append(verb)
                continue
            for group in rule.get("apiGroups") or ():
                for resource in rule.get("resources") or ():
                    for name in rule.get("resourceNames") or ("",):
                        atom = {"verbs": [verb], "apiGroups": [group], "resources": [resource],
                                **({"resourceNames": [name]} if name else {})}
                        if not rbac.covers(owned, atom):
                            verbs = missing.setdefault(("res", group, resource, name), [])
                            if verb not in verbs:
                                verbs.append(verb)
    out = []
    for key, verbs in missing.items():
        if key[0] == "url":
            out.append({"nonResourceURLs": [key[1]], "verbs": verbs})
        else:
            out.append({"apiGroups": [key[1]], "resources": [key[2]], "verbs": verbs,
                        **({"resourceNames": [key[3]]} if key[3] else {})})
    return out


def escalation_error(res: Any, name: str, user: UserInfo, missing: list[Obj], why: str = "") -> StatusError:
    groups = _go_strings(user.groups)
    text = why or ("is attempting to grant RBAC permissions not currently held:\n" +
                   "\n".join(compact_string(r) for r in missing))
    message = f'{res.plural}.{GROUP} "{name}" is forbidden: user "{user.name}" (groups={groups}) {text}'
    return StatusError(403, "Forbidden", message, {"name": name, "group": GROUP, "kind": res.plural})


def escalation_admission(authorizer: Authorizer, registry: Any) -> Any:
    async def admit(res: Any, namespace: str, obj: Obj, old: Obj | None) -> None:
        user = request_user.get()
        if user is None or res.group != GROUP or MASTERS in user.groups:
            return
        name = obj["metadata"].get("name", "")
        if res.plural in ("roles", "clusterroles"):
            attrs = Attributes("escalate", True, GROUP, "v1", res.plural, "", namespace, name)
            if (await authorizer.decide(user, attrs))[0]:
                return
            if res.plural == "clusterroles" and obj.get("aggregationRule"):
                raise escalation_error(res, name, user, [], "must have cluster-admin privileges to write "
                                                            "aggregated ClusterRoles")
            requested = list(obj.get("rules") or [])
        elif res.plural in ("rolebindings", "clusterrolebindings"):
            ref = obj.get("roleRef") or {}
            kind = ref.get("kind")
            plural = "clusterroles" if kind == "ClusterRole" else "roles"
            attrs = Attributes("bind", True, GROUP, "v1", plural, "", namespace, ref.get("name", ""))
            if (await authorizer.decide(user, attrs))[0]:
                return
            role = await _role(registry, plural, namespace, ref.get("name", ""))
            requested = list((role or {}).get("rules") or [])
        else:
            return
        missing = missing_rules(await authorizer.rules(user, namespace), requested)
        if missing:
            raise escalation_error(res, name, user, missing)

    return admit


async def _role(registry: Any, plural: str, namespace: str, name: str) -> Obj | None:
    from tinykube.registry.resources import RESOURCE_INDEX

    res = RESOURCE_INDEX.lookup(GROUP, "v1", plural)
    try:
        return await registry.get(res, namespace if plural == "roles" else "", name)
    except StatusError as exc:
        if exc.code == 404:
            return None
        raise

"""Impersonation (`kubectl --as`, `--as-group`, `--as-uid`): the Impersonate-* headers switch the
request's user after the real one proved it may `impersonate` each of them, as upstream's filter."""

from __future__ import annotations

from typing import Any

from tinykube.auth.authorizer import Authorizer, forbidden
from tinykube.auth.requestinfo import Attributes
from tinykube.auth.user import AUTHENTICATED, UserInfo, service_account_groups, split_service_account
from tinykube.machinery import errors

USER_HEADER = "impersonate-user"
GROUP_HEADER = "impersonate-group"
UID_HEADER = "impersonate-uid"
EXTRA_PREFIX = "impersonate-extra-"


def _getlist(headers: Any, key: str) -> list[str]:
    return headers.getlist(key) if hasattr(headers, "getlist") else ([headers[key]] if key in headers else [])


def requested(headers: Any) -> bool:
    return any(k.lower() in (USER_HEADER, GROUP_HEADER, UID_HEADER) or k.lower().startswith(EXTRA_PREFIX)
               for k in headers.keys())


async def impersonate(authorizer: Authorizer, user: UserInfo, headers: Any) -> UserInfo:
    """The user to act as, or 403 naming what the real user may not impersonate."""
    name = headers.get(USER_HEADER, "")
    groups = _getlist(headers, GROUP_HEADER)
    uid = headers.get(UID_HEADER, "")
    extra: dict[str, list[str]] = {}
    for key in headers.keys():
        if key.lower().startswith(EXTRA_PREFIX):
            extra.setdefault(key.lower()[len(EXTRA_PREFIX):], []).extend(_getlist(headers, key))
    if not name:
        raise errors.bad_request("requested impersonation of groups, uid or extra without a user")
    checks: list[Attributes] = []
    sa = split_service_account(name)
    if sa is not None:
        checks.append(Attributes("impersonate", True, "", "", "serviceaccounts", "", sa[0], sa[1]))
        if not groups:
            groups = list(service_account_groups(sa[0]))
    else:
        checks.append(Attributes("impersonate", True, "", "", "users", "", "", name))
    checks += [Attributes("impersonate", True, "", "", "groups", "", "", g) for g in groups]
    if uid:
        checks.append(Attributes("impersonate", True, "authentication.k8s.io", "", "uids", "", "", uid))
    for key, values in extra.items():
        checks += [Attributes("impersonate", True, "authentication.k8s.io", "", "userextras", key, "", v)
                   for v in values]
    for attrs in checks:
        allowed, _ = await authorizer.decide(user, attrs)
        if not allowed:
            raise forbidden(user, attrs)
    if name != "system:anonymous" and AUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    return UserInfo(name, uid, tuple(groups), {k: tuple(v) for k, v in extra.items()})


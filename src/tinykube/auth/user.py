"""The authenticated user a request acts as, and the well-known names upstream gives users."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
SA_PREFIX = "system:serviceaccount:"
SA_GROUP = "system:serviceaccounts"
ADMIN_NAME = "tinykube-admin"


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def with_authenticated(self) -> "UserInfo":
        """Every authenticated user is in system:authenticated, as upstream's authenticator union adds."""
        if AUTHENTICATED in self.groups or self.name == "system:anonymous":
            return self
        return UserInfo(self.name, self.uid, (*self.groups, AUTHENTICATED), self.extra)

    def to_api(self) -> dict[str, Any]:
        """authentication.k8s.io/v1 UserInfo."""
        out: dict[str, Any] = {"username": self.name}
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out


ADMIN = UserInfo(ADMIN_NAME, groups=(MASTERS, AUTHENTICATED))


def service_account_username(namespace: str, name: str) -> str:
    return f"{SA_PREFIX}{namespace}:{name}"


def service_account_groups(namespace: str) -> tuple[str, ...]:
    return (SA_GROUP, f"{SA_GROUP}:{namespace}")


def split_service_account(username: str) -> tuple[str, str] | None:
    """(namespace, name) of a `system:serviceaccount:ns:name` user, else None."""
    if not username.startswith(SA_PREFIX):
        return None
    namespace, sep, name = username[len(SA_PREFIX):].partition(":")
    if not sep or not namespace or not name or ":" in name:
        return None
    return namespace, name

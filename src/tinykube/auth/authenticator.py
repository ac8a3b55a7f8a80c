"""Who sent a request: the client certificate, else the bearer token (the static admin token or
a ServiceAccount JWT). Anything else is 401, as the cluster runs without anonymous access."""

from __future__ import annotations

import hmac
from typing import Any, Awaitable, Callable

from tinykube.auth.tokens import TokenClaims, TokenSigner
from tinykube.auth.user import ADMIN, UserInfo
from tinykube.auth.x509auth import STATE_KEY, user_from_certificate
from tinykube.machinery import errors

Obj = dict[str, Any]
# (kind plural, namespace, name) -> the live object or None
ObjectGetter = Callable[[str, str, str], Awaitable[Obj | None]]


class Authenticator:
    def __init__(self, static_token: str, signer: TokenSigner, get_object: ObjectGetter) -> None:
        self.static_token = static_token
        self.signer = signer
        self.get_object = get_object

    async def authenticate(self, headers: Any, state: Any) -> UserInfo:
        """The request's user, or 401 Unauthorized."""
        der = state.get(STATE_KEY) if isinstance(state, dict) else getattr(state, STATE_KEY, None)
        if der:
            user = user_from_certificate(der)
            if user is not None:
                return user
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise errors.unauthorized()
        user = await self.authenticate_token(credential)
        if user is None:
            raise errors.unauthorized()
        return user

    async def authenticate_token(self, token: str, audiences: tuple[str, ...] | None = None) -> UserInfo | None:
        if audiences is None and hmac.compare_digest(token.encode(), self.static_token.encode()):
            return ADMIN
        claims = self.signer.decode(token, audiences)
        if claims is None:
            return None
        if not await self.references_hold(claims):
            return None
        return claims.user()

    async def references_hold(self, claims: TokenClaims) -> bool:
        """A token dies with its ServiceAccount (and its bound pod): the UIDs must still match."""
        sa = await self.get_object("serviceaccounts", claims.namespace, claims.service_account)
        if sa is None or (claims.service_account_uid and sa["metadata"].get("uid") != claims.service_account_uid):
            return False
        if sa["metadata"].get("deletionTimestamp"):
            return False
        if claims.pod_name:
            pod = await self.get_object("pods", claims.namespace, claims.pod_name)
            if pod is None or pod["metadata"].get("uid") != claims.pod_uid:
                return False
        return True

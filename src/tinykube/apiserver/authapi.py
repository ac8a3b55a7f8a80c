"""The authentication and authorization APIs, answered on request and never stored:
TokenRequest (`serviceaccounts/{name}/token`), TokenReview, SelfSubjectReview,
SubjectAccessReview and its Self/Local forms, SelfSubjectRulesReview."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinykube.apiserver import negotiation
from tinykube.apiserver.handlers import Target
from tinykube.auth.authenticator import Authenticator
from tinykube.auth.authorizer import Authorizer
from tinykube.auth.requestinfo import Attributes
from tinykube.auth.tokens import DEFAULT_EXPIRATION, MIN_EXPIRATION, TokenSigner
from tinykube.auth.user import UserInfo
from tinykube.machinery import errors
from tinykube.machinery.errors import Cause
from tinykube.registry.objects import ObjectRegistry
from tinykube.registry.resources import RESOURCE_INDEX

Obj = dict[str, Any]
MAX_EXPIRATION = 1 << 32
BOUND_KINDS = {"Pod": "pods", "Secret": "secrets", "Node": "nodes"}


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _str_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def user_from_spec(spec: Obj) -> UserInfo:
    extra = spec.get("extra") if isinstance(spec.get("extra"), dict) else {}
    return UserInfo(str(spec.get("user") or ""), str(spec.get("uid") or ""), tuple(_str_list(spec.get("groups"))),
                    {str(k): tuple(_str_list(v)) for k, v in extra.items()})


def attributes_from_spec(spec: Obj) -> Attributes:
    resource = spec.get("resourceAttributes")
    if isinstance(resource, dict):
        return Attributes(str(resource.get("verb") or ""), True, str(resource.get("group") or ""),
                          str(resource.get("version") or ""), str(resource.get("resource") or ""),
                          str(resource.get("subresource") or ""), str(resource.get("namespace") or ""),
                          str(resource.get("name") or ""))
    other = spec.get("nonResourceAttributes") if isinstance(spec.get("nonResourceAttributes"), dict) else {}
    return Attributes(str(other.get("verb") or ""), False, path=str(other.get("path") or ""))


def rules_status(rules: list[Any]) -> Obj:
    """SelfSubjectRulesReview status: resource and non-resource rules as the resolver lists them."""
    resource_rules, url_rules = [], []
    for rule in rules:
        if rule.get("nonResourceURLs"):
            url_rules.append({"verbs": list(rule.get("verbs") or []), "nonResourceURLs": list(rule["nonResourceURLs"])})
        else:
            entry = {"verbs": list(rule.get("verbs") or []), "apiGroups": list(rule.get("apiGroups") or []),
                     "resources": list(rule.get("resources") or [])}
            if rule.get("resourceNames"):
                entry["resourceNames"] = list(rule["resourceNames"])
            resource_rules.append(entry)
    return {"resourceRules": resource_rules, "nonResourceRules": url_rules, "incomplete": False}


class AuthAPI:
    def __init__(self, registry: ObjectRegistry, authenticator: Authenticator, authorizer: Authorizer,
                 signer: TokenSigner) -> None:
        self.registry = registry
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.signer = signer

    @staticmethod
    def serves(target: Target) -> bool:
        res = target.res
        return res.group in ("authentication.k8s.io", "authorization.k8s.io") or \
            (res.group == "" and res.plural == "serviceaccounts" and target.subresource == "token")

    async def handle(self, request: Request, target: Target, user: UserInfo) -> Response:
        if request.method != "POST" or (target.name and target.subresource != "token"):
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        body = negotiation.decode_object(await request.body(), request.headers.get("content-type", ""))
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        plural = target.res.plural
        if plural == "serviceaccounts":
            out = await self.token_request(target, body, spec)
        elif plural == "tokenreviews":
            out = await self.token_review(body, spec)
        elif plural == "selfsubjectreviews":
            out = {"status": {"userInfo": user.to_api()}}
        elif plural == "selfsubjectrulesreviews":
            namespace = str(spec.get("namespace") or "")
            out = {"spec": spec, "status": rules_status(await self.authorizer.rules(user, namespace))}
        else:
            out = await self.access_review(target, body, spec, user)
        kind = "TokenRequest" if plural == "serviceaccounts" else target.res.kind
        api_version = "authentication.k8s.io/v1" if plural == "serviceaccounts" else target.res.api_version
        meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        result = {"kind": kind, "apiVersion": api_version, "metadata": {**meta, "creationTimestamp": None}, **out}
        if plural == "serviceaccounts":
            result["metadata"].update({"name": target.name, "namespace": target.namespace})
        return Response(negotiation.dump_json(result), 201, media_type="application/json")

    # ------------------------------------------------------------------ authentication.k8s.io

    async def token_request(self, target: Target, body: Obj, spec: Obj) -> Obj:
        accounts = RESOURCE_INDEX.lookup("", "v1", "serviceaccounts")
        sa = await self.registry.get(accounts, target.namespace, target.name)
        expiration = spec.get("expirationSeconds")
        if expiration is None:
            expiration = DEFAULT_EXPIRATION
        if not isinstance(expiration, int) or isinstance(expiration, bool):
            raise errors.bad_request("spec.expirationSeconds must be an integer")
        causes = []
        if expiration < MIN_EXPIRATION:
            causes.append(Cause("FieldValueInvalid", f"Invalid value: {expiration}: may not specify a duration "
                                                     "less than 10 minutes", "spec.expirationSeconds"))
        elif expiration > MAX_EXPIRATION:
            causes.append(Cause("FieldValueInvalid", f"Invalid value: {expiration}: may not specify a duration "
                                                     "larger than 2^32 seconds", "spec.expirationSeconds"))
        ref = spec.get("boundObjectRef") if isinstance(spec.get("boundObjectRef"), dict) else None
        if ref is not None and ref.get("kind") not in BOUND_KINDS:
            causes.append(Cause("FieldValueNotSupported", f'Unsupported value: "{ref.get("kind", "")}": supported '
                                'values: "Node", "Pod", "Secret"', "spec.boundObjectRef.kind"))
        if causes:
            raise errors.invalid("authentication.k8s.io", "TokenRequest", target.name, causes)
        pod = node = None
        if ref is not None:
            res = RESOURCE_INDEX.lookup("", "v1", BOUND_KINDS[ref["kind"]])
            bound = await self.registry.get(res, "" if ref["kind"] == "Node" else target.namespace,
                                            str(ref.get("name") or ""))
            if ref.get("uid") and ref["uid"] != bound["metadata"].get("uid"):
                raise errors.conflict("", res.plural, str(ref.get("name")),
                                      f'the UID in the bound object reference ({ref["uid"]}) does not match the UID '
                                      'in record. The object might have been deleted and then recreated')
            if ref["kind"] == "Pod":
                pod = bound
                node_name = (bound.get("spec") or {}).get("nodeName")
                if node_name:
                    node = self.signer.node_lookup(node_name) or {"metadata": {"name": node_name}}
            elif ref["kind"] == "Node":
                node = bound
            ref = {**ref, "apiVersion": "v1", "uid": bound["metadata"].get("uid", "")}
        audiences = _str_list(spec.get("audiences")) or list(self.signer.audiences)
        token, expires = self.signer.issue(sa, audiences, expiration, pod, node)
        out_spec: Obj = {"audiences": audiences, "expirationSeconds": expiration,
                         "boundObjectRef": ref}
        return {"spec": out_spec, "status": {"token": token, "expirationTimestamp": _rfc3339(expires)}}

    async def token_review(self, body: Obj, spec: Obj) -> Obj:
        token = str(spec.get("token") or "")
        audiences = tuple(_str_list(spec.get("audiences"))) or None
        user = await self.authenticator.authenticate_token(token, audiences) if token else None
        if user is None:
            return {"spec": spec, "status": {"authenticated": False, "error": "[invalid bearer token, service "
                                             "account token has been invalidated]" if token else "token is empty",
                                             "user": {}}}
        status: Obj = {"authenticated": True, "user": user.to_api()}
        status["audiences"] = list(audiences or self.signer.audiences)
        return {"spec": spec, "status": status}

    # ------------------------------------------------------------------ authorization.k8s.io

    async def access_review(self, target: Target, body: Obj, spec: Obj, user: UserInfo) -> Obj:
        plural = target.res.plural
        attrs = attributes_from_spec(spec)
        if not spec.get("resourceAttributes") and not spec.get("nonResourceAttributes"):
            raise errors.invalid("authorization.k8s.io", target.res.kind, "", [Cause(
                "FieldValueRequired", "Required value: exactly one of nonResourceAttributes or resourceAttributes "
                                      "must be specified", "spec.resourceAttributes")])
        if plural == "selfsubjectaccessreviews":
            subject = user
        else:
            subject = user_from_spec(spec)
            if not subject.name and not subject.groups:
                raise errors.invalid("authorization.k8s.io", target.res.kind, "", [Cause(
                    "FieldValueRequired", "Required value: at least one of user or group must be specified",
                    "spec.user")])
        if plural == "localsubjectaccessreviews" and attrs.namespace != target.namespace:
            raise errors.invalid("authorization.k8s.io", target.res.kind, "", [Cause(
                "FieldValueInvalid", f'Invalid value: "{attrs.namespace}": must match metadata.namespace',
                "spec.resourceAttributes.namespace")])
        allowed, reason = await self.authorizer.decide(subject, attrs)
        status: Obj = {"allowed": allowed}
        if reason:
            status["reason"] = reason
        return {"spec": spec, "status": status}

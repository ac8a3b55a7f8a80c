"""The generic object registry: create, read, update, delete and watch any served kind.

Turns requests into store operations with upstream's rules: names and generateName,
uid and timestamps, defaults and validation, optimistic concurrency on resourceVersion,
generation, status and scale subresources, finalizers and graceful deletion, selectors,
paging and watch filtering. Errors are always `StatusError`s; a refused write changes nothing.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Awaitable, Callable

import orjson

from tinykube.admission.chain import AdmissionChain, Attributes
from tinykube.clock import Clock, format_time
from tinykube.machinery import errors
from tinykube.machinery.errors import Cause, StatusError
from tinykube.machinery.jsoncopy import json_copy
from tinykube.registry import codec, lifecycle
from tinykube.registry.conversion import from_storage, is_stored_as_served, to_storage
from tinykube.registry.fields import supported_fields
from tinykube.registry.resources import RESOURCE_INDEX, Resource, object_key, storage_prefix
from tinykube.storage.interface import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    RevisionMismatchError,
    Store,
)

NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # upstream's: no vowels, no confusable digits
MAX_CONFLICT_RETRIES = 16
WATCHED_MEMO = 256  # recent changes kept decoded for their other watchers
NAMESPACE_RESOURCE = RESOURCE_INDEX.lookup("", "v1", "namespaces")


WATCH_IDLE = "TINYKUBE-IDLE"  # pseudo event type: `idle` seconds passed without an event
WATCH_INITIAL_END = "TINYKUBE-INITIAL-END"  # pseudo event type: the initial objects have all been sent


def generate_name(prefix: str) -> str:
    if len(prefix) > 58:
        prefix = prefix[:58]
    return prefix + "".join(secrets.choice(NAME_ALPHABET) for _ in range(5))


@dataclass
class ListOptions:
    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Strict"


@dataclass
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str = ""
    precondition_uid: str = ""
    precondition_resource_version: str = ""
    dry_run: bool = False


@dataclass
class Hooks:
    """Per-kind behaviour plugged in by the server: defaults, validation, managed fields."""

    apply_defaults: Callable[[Resource, dict[str, Any]], None] = lambda res, obj: None
    apply_status_defaults: Callable[[Resource, dict[str, Any]], None] = lambda res, obj: None
    validate: Callable[[Resource, dict[str, Any], dict[str, Any] | None], list[Cause]] = lambda res, obj, old: []
    validate_status: Callable[[Resource, dict[str, Any], dict[str, Any]], list[Cause]] = lambda res, obj, old: []
    track_fields: Callable[[Resource, dict[str, Any] | None, dict[str, Any], str, str, str], None] = \
        lambda res, old, new, manager, operation, subresource: None
    # Values the server hands out on write (a Service's clusterIP and nodePorts): fills them in
    # or raises, and returns a release to call once the write is done (None: nothing to allocate).
    allocate: Callable[[Resource, dict[str, Any], dict[str, Any] | None],
                       Awaitable[Callable[[], None]] | None] = lambda res, obj, old: None


@dataclass
class Selector:
    """A parsed label + field selector pair applied to decoded objects."""

    labels: Any = None
    fields: Any = None
    field_getters: dict[str, Callable[[dict[str, Any]], str]] = field(default_factory=dict)

    def matches(self, obj: dict[str, Any]) -> bool:
        if self.labels is not None and not self.labels.matches((obj.get("metadata") or {}).get("labels") or {}):
            return False
        if self.fields is not None:
            values = {label: getter(obj) for label, getter in self.field_getters.items()}
            if not self.fields.matches(values):
                return False
        return True

    @property
    def empty(self) -> bool:
        return self.labels is None and self.fields is None


def build_selector(res: Resource, label_selector: str, field_selector: str) -> Selector:
    from tinykube.machinery.selectors import SelectorError, parse_field_selector, parse_label_selector

    sel = Selector()
    try:
        if label_selector.strip():
            sel.labels = parse_label_selector(label_selector)
        if field_selector.strip():
            sel.fields = parse_field_selector(field_selector)
    except (SelectorError, ValueError) as exc:
        raise errors.bad_request(str(exc)) from None
    if sel.fields is not None:
        supported = supported_fields(res.group, res.plural)
        for req in sel.fields.requirements:
            if req.field not in supported:
                raise errors.bad_request(f"field label not supported: {req.field}")
            sel.field_getters[req.field] = supported[req.field]
    return sel


def encode_continue(revision: int, last_key: str, prefix: str) -> str:
    token = {"v": "meta.k8s.io/v1", "rv": revision, "start": last_key[len(prefix):] + "\x00"}
    return base64.urlsafe_b64encode(orjson.dumps(token)).decode().rstrip("=")


def decode_continue(token: str, prefix: str) -> tuple[int, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded))
        revision = int(data["rv"])
        start = str(data["start"])
    except Exception:
        raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                                 "(version meta.k8s.io/v1)") from None
    if revision <= 0:
        raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                                 "(version meta.k8s.io/v1)")
    return revision, prefix + start.rstrip("\x00")


CONTINUE_EXPIRED = ("The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter, or use the continue "
                    "token in this response to retrieve the remainder of the results. Continuing with "
                    "the provided token results in an inconsistent list - objects that were created, "
                    "modified, or deleted between the time the first chunk was returned and now may "
                    "show up in the list.")


def parse_resource_version(text: str) -> int:
    try:
        value = int(text)
        if value < 0:
            raise ValueError
        return value
    except ValueError:
        raise errors.bad_request(f'resourceVersion: Invalid value: "{text}": strconv.ParseUint: '
                                 f'parsing "{text}": invalid syntax') from None


def _namespace_finalizers(obj: dict[str, Any]) -> list[str]:
    """A Namespace is only removed once its content is gone: spec.finalizers says so."""
    if obj.get("kind") != "Namespace":
        return []
    return list((obj.get("spec") or {}).get("finalizers") or [])


class ObjectRegistry:
    """All kinds' objects over one `Store`."""

    def __init__(self, store: Store, clock: Clock, hooks: Hooks | None = None,
                 admission: AdmissionChain | None = None) -> None:
        self.store = store
        self.clock = clock
        self.hooks = hooks or Hooks()
        self.admission = admission or AdmissionChain()
        # (group, version, resource, key, revision) -> the change as watchers of that version see
        # it, decoded once for all of them
        self._watched: dict[tuple[str, str, str, str, int], dict[str, Any]] = {}

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _not_found(res: Resource, name: str) -> StatusError:
        return errors.not_found(res.group, res.plural, name)

    def _key(self, res: Resource, namespace: str, name: str) -> str:
        return object_key(res, namespace, name)

    async def has_any(self, res: Resource, namespace: str) -> bool:
        """Whether any object of `res` is stored in `namespace`: a key count, nothing decoded."""
        return await self.store.count(storage_prefix(res) + (f"{namespace}/" if res.namespaced else "")) > 0

    def _decode(self, res: Resource, kv: Any) -> dict[str, Any]:
        return from_storage(res, codec.decode(kv))

    def _encode(self, res: Resource, obj: dict[str, Any]) -> bytes:
        return codec.encode(to_storage(res, obj))

    def _changed_encoding(self, res: Resource, new: dict[str, Any], current: dict[str, Any]) -> bytes | None:
        """The bytes to store for `new`, or None when it equals `current` (a no-op write);
        `new` is encoded once when its stored shape is its served shape."""
        served = codec.encode(new)
        if served == codec.encode(current):
            return None
        return served if is_stored_as_served(res) else self._encode(res, new)

    async def _namespace_must_accept(self, res: Resource, namespace: str, name: str) -> None:
        if not res.namespaced:
            return
        assert NAMESPACE_RESOURCE is not None
        kv = await self.store.get(self._key(NAMESPACE_RESOURCE, "", namespace))
        if kv is None:
            raise errors.not_found("", "namespaces", namespace)
        ns = orjson.loads(kv.value)
        if (ns.get("metadata") or {}).get("deletionTimestamp"):
            raise errors.forbidden(f'{res.group_resource} "{name}" is forbidden: unable to create new content '
                                   f"in namespace {namespace} because it is being terminated")

    def _invalid(self, res: Resource, name: str, causes: list[Cause]) -> StatusError:
        return errors.invalid(res.group, res.kind, name, causes)

    def _validate_meta(self, res: Resource, obj: dict[str, Any]) -> list[Cause]:
        from tinykube.machinery.validation import validate_object_meta
        rule = "label" if res.kind in ("Namespace", "Service") else \
            "path_segment" if res.group == "rbac.authorization.k8s.io" else "subdomain"
        return list(validate_object_meta(obj["metadata"], res.namespaced, rule).causes)

    # ------------------------------------------------------------------ reads

    async def get(self, res: Resource, namespace: str, name: str, resource_version: str = "") -> dict[str, Any]:
        revision = 0
        if resource_version not in ("", "0"):
            wanted = parse_resource_version(resource_version)
            if wanted > self.store.revision:
                raise errors.StatusError(504, "Timeout", f"Too large resource version: {wanted}, "
                                         f"current: {self.store.revision}")
        kv = await self.store.get(self._key(res, namespace, name), revision)
        if kv is None:
            raise self._not_found(res, name)
        return self._decode(res, kv)

    async def list(self, res: Resource, namespace: str, opts: ListOptions) -> dict[str, Any]:
        selector = build_selector(res, opts.label_selector, opts.field_selector)
        prefix = storage_prefix(res) + (f"{namespace}/" if res.namespaced and namespace else "")
        revision = 0
        start_after = ""
        if opts.continue_token:
            revision, start_after = decode_continue(opts.continue_token, prefix)
            if revision < self.store.compacted_revision:
                raise errors.gone(CONTINUE_EXPIRED)
        elif opts.resource_version not in ("", "0"):
            wanted = parse_resource_version(opts.resource_version)
            if opts.resource_version_match == "Exact":
                revision = wanted
            elif wanted > self.store.revision:
                raise errors.StatusError(504, "Timeout", f"Too large resource version: {wanted}, "
                                         f"current: {self.store.revision}")
        if opts.resource_version_match and opts.resource_version_match not in ("Exact", "NotOlderThan"):
            raise errors.bad_request(f'resourceVersionMatch: Unsupported value: "{opts.resource_version_match}"'
                                     f': supported values: "Exact", "NotOlderThan"')
        try:
            result = await self.store.list(prefix, revision, start_after)
        except CompactedError as exc:
            raise errors.gone(f"too old resource version: {exc.requested} ({exc.compacted})") from None
        except FutureRevisionError as exc:
            raise errors.StatusError(504, "Timeout", f"Too large resource version: {exc.requested}, "
                                     f"current: {exc.current}") from None
        items: list[dict[str, Any]] = []
        last_key = ""
        scanned = 0
        for kv in result.kvs:
            scanned += 1
            obj = self._decode(res, kv)
            if selector.empty or selector.matches(obj):
                items.append(obj)
                last_key = kv.key
                if opts.limit and len(items) >= opts.limit:
                    break
        meta: dict[str, Any] = {"resourceVersion": str(result.revision)}
        remaining = len(result.kvs) - scanned
        if opts.limit and remaining > 0:
            meta["continue"] = encode_continue(result.revision, last_key, prefix)
            if selector.empty:
                meta["remainingItemCount"] = remaining
        return {"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta, "items": items}

    # ------------------------------------------------------------------ create

    async def create(self, res: Resource, namespace: str, body: dict[str, Any],
                     opts: WriteOptions | None = None, track_fields: bool = True,
                     body_is_private: bool = False) -> dict[str, Any]:
        """Create `body` (copied first, unless the caller hands over a body nobody else holds,
        as a request's decoded one)."""
        opts = opts or WriteOptions()
        obj = body if body_is_private else json_copy(body)
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        if res.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and body_ns != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                         "sent on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        retries = 8 if not meta.get("name") and meta.get("generateName") else 1  # a generated name may collide
        for attempt in range(retries):
            candidate = json_copy(obj) if attempt < retries - 1 else obj  # the last try needs no spare copy
            created = await self._create_once(res, namespace, candidate, opts, attempt < 7, track_fields)
            if created is not None:
                return created
        raise errors.already_exists(res.group, res.plural, obj["metadata"].get("name", ""))

    async def _create_once(self, res: Resource, namespace: str, obj: dict[str, Any], opts: WriteOptions,
                           retry_name: bool, track_fields: bool) -> dict[str, Any] | None:
        meta = obj["metadata"]
        generated = False
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = generate_name(meta["generateName"])
            generated = True
        name = meta.get("name", "")
        for server_field in lifecycle.SERVER_METADATA:
            meta.pop(server_field, None)
        meta.pop("resourceVersion", None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.clock.rfc3339()
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        self.hooks.apply_defaults(res, obj)  # decoding defaults first, as upstream
        if track_fields:
            # the writer owns what it sent (defaults included), not what admission adds (the
            # service-account token volume): upstream's field manager runs before admission
            self.hooks.track_fields(res, None, obj, opts.field_manager, "Update", "")
        lifecycle.prepare_for_create(res, obj)
        attrs = Attributes("CREATE", res, namespace, name, obj, None, opts.dry_run)
        await self.admission.mutate(attrs)  # mutating admission before validation, as upstream
        release = await self._allocate(res, obj, None)
        try:
            return await self._validate_and_create(res, namespace, obj, opts, generated and retry_name, attrs)
        finally:
            release()

    async def _allocate(self, res: Resource, obj: dict[str, Any], old: dict[str, Any] | None) -> Callable[[], None]:
        pending = self.hooks.allocate(res, obj, old)
        return (lambda: None) if pending is None else await pending

    async def _validate_and_create(self, res: Resource, namespace: str, obj: dict[str, Any], opts: WriteOptions,
                                   retry_name: bool, attrs: Attributes) -> dict[str, Any] | None:
        meta = obj["metadata"]
        name = meta.get("name", "")
        causes = self._validate_meta(res, obj) + self.hooks.validate(res, obj, None)
        if causes:
            raise self._invalid(res, name, causes)
        await self._namespace_must_accept(res, namespace, name)
        async with self.admission.validating(attrs):
            if opts.dry_run:
                exists = await self.store.get(self._key(res, namespace, name))
                if exists is not None:
                    raise errors.already_exists(res.group, res.plural, name)
                return obj
            try:
                kv = await self.store.create(self._key(res, namespace, name), self._encode(res, obj))
            except KeyExistsError:
                if retry_name:
                    return None
                raise errors.already_exists(res.group, res.plural, name) from None
        obj["metadata"]["resourceVersion"] = str(kv.mod_revision)
        return obj

    # ------------------------------------------------------------------ update

    async def update(self, res: Resource, namespace: str, name: str, body: dict[str, Any],
                     opts: WriteOptions | None = None, subresource: str = "") -> dict[str, Any]:
        """PUT: replace the object; 409 Conflict when body's resourceVersion is stale."""
        opts = opts or WriteOptions()
        meta = body.get("metadata")
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata is required")
        body_name = meta.get("name", "")
        if body_name != name:
            raise errors.bad_request(f'the name of the object ({body_name}) does not match the name on the '
                                     f'URL ({name})')
        if res.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                     "sent on the request")
        precondition = meta.get("resourceVersion") or ""
        expected = parse_resource_version(precondition) if precondition else 0

        def replace(current: dict[str, Any]) -> dict[str, Any]:
            return json_copy(body)

        return await self.guaranteed_update(res, namespace, name, replace, opts, subresource,
                                            expected_revision=expected, reads_current=False)

    async def guaranteed_update(self, res: Resource, namespace: str, name: str,
                                mutate: Callable[[dict[str, Any]], dict[str, Any]],
                                opts: WriteOptions | None = None, subresource: str = "",
                                expected_revision: int = 0, operation: str = "Update",
                                reads_current: bool = True) -> dict[str, Any]:
        """Read, mutate, write with compare-and-swap; retry on races unless a revision was demanded.

        `mutate` gets a private copy of the stored object to change, unless it says it does not
        read it (`reads_current=False`, a replacement): then it gets the live one."""
        opts = opts or WriteOptions()
        key = self._key(res, namespace, name)
        for _ in range(MAX_CONFLICT_RETRIES):
            kv = await self.store.get(key)
            if kv is None:
                raise self._not_found(res, name)
            current = self._decode(res, kv)
            if expected_revision and expected_revision != kv.mod_revision:
                raise errors.conflict(res.group, res.plural, name, errors.OPTIMISTIC_LOCK_MESSAGE)
            # decoded again: a private copy, cheaper than copying
            new = mutate(self._decode(res, kv) if reads_current else current)
            wanted_rv = (new.get("metadata") or {}).get("resourceVersion") or ""
            if wanted_rv and not expected_revision and wanted_rv != current["metadata"]["resourceVersion"]:
                # a patch that carries a resourceVersion is a precondition too
                raise errors.conflict(res.group, res.plural, name, errors.OPTIMISTIC_LOCK_MESSAGE)
            release = await self._allocate(res, new, current) if not subresource else (lambda: None)
            try:
                new = self._prepare_update(res, new, current, subresource)
                if operation:
                    self.hooks.track_fields(res, current, new, opts.field_manager, operation, subresource)
                encoded = self._changed_encoding(res, new, current)
                if encoded is None:
                    return current
                if opts.dry_run:
                    return new
                if self._should_delete_now(new):
                    return await self._delete_stored(res, key, kv.mod_revision, current, name)
                attrs = Attributes("UPDATE", res, namespace, name, new, current, subresource=subresource)
                try:
                    async with self.admission.validating(attrs):
                        stored = await self.store.update(key, encoded, kv.mod_revision)
                except RevisionMismatchError:
                    if expected_revision:
                        raise errors.conflict(res.group, res.plural, name, errors.OPTIMISTIC_LOCK_MESSAGE) from None
                    continue
                except KeyNotFoundError:
                    raise self._not_found(res, name) from None
            finally:
                release()
            new["metadata"]["resourceVersion"] = str(stored.mod_revision)
            return new
        raise errors.conflict(res.group, res.plural, name, errors.OPTIMISTIC_LOCK_MESSAGE)

    async def system_update(self, res: Resource, namespace: str, name: str,
                            mutate: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any]:
        """Compare-and-swap loop for writes the server itself makes (pods/binding): `mutate`
        gets a private copy and either returns the new object or raises a StatusError; no
        defaults, validation or managedFields. Returning None leaves the object unchanged."""
        key = self._key(res, namespace, name)
        for _ in range(MAX_CONFLICT_RETRIES):
            kv = await self.store.get(key)
            if kv is None:
                raise self._not_found(res, name)
            current = self._decode(res, kv)
            new = mutate(json_copy(current))
            if new is None:
                return current
            try:
                stored = await self.store.update(key, self._encode(res, new), kv.mod_revision)
            except RevisionMismatchError:
                continue
            except KeyNotFoundError:
                raise self._not_found(res, name) from None
            new["metadata"]["resourceVersion"] = str(stored.mod_revision)
            return new
        raise errors.conflict(res.group, res.plural, name, errors.OPTIMISTIC_LOCK_MESSAGE)

    def _prepare_update(self, res: Resource, new: dict[str, Any], current: dict[str, Any],
                        subresource: str) -> dict[str, Any]:
        if not isinstance(new, dict) or not isinstance(new.get("metadata", {}), dict):
            raise errors.bad_request("the object is not a valid Kubernetes object")
        new.setdefault("metadata", {})
        meta = new["metadata"]
        old_meta = current["metadata"]
        name = old_meta["name"]
        if meta.get("uid") and meta["uid"] != old_meta["uid"]:
            raise errors.conflict(res.group, res.plural, name,
                                  f"Precondition failed: UID in precondition: {meta['uid']}, "
                                  f"UID in object meta: {old_meta['uid']}")
        if meta.get("name", name) != name:
            raise errors.bad_request(f"the name of the object ({meta.get('name')}) does not match the name "
                                     f"on the URL ({name})")
        for fixed in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                      "deletionGracePeriodSeconds", "generation"):
            if fixed in old_meta:
                meta[fixed] = old_meta[fixed]
            else:
                meta.pop(fixed, None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        new["apiVersion"] = res.api_version
        new["kind"] = res.kind
        if subresource == "finalize":
            lifecycle.prepare_for_finalize(new, current)
            causes = []
        elif subresource == "status":
            lifecycle.prepare_for_status_update(res, new, current)
            self.hooks.apply_status_defaults(res, new)
            causes = self.hooks.validate_status(res, new, current)
        else:
            self.hooks.apply_defaults(res, new)  # before comparing specs: omitted defaults are no change
            lifecycle.prepare_for_update(res, new, current)
            causes = self._validate_meta(res, new) + self.hooks.validate(res, new, current)
            if old_meta.get("deletionTimestamp"):
                added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
                if added:
                    quoted = ", ".join(f'"{f}"' for f in sorted(added))
                    causes.append(Cause("FieldValueForbidden",
                                        "Forbidden: no new finalizers can be added if the object is being "
                                        f"deleted, found new finalizers []string{{{quoted}}}",
                                        "metadata.finalizers"))
        if causes:
            raise self._invalid(res, name, causes)
        return new

    @staticmethod
    def _should_delete_now(obj: dict[str, Any]) -> bool:
        meta = obj["metadata"]
        return bool(meta.get("deletionTimestamp")) and not meta.get("finalizers") and \
            not meta.get("deletionGracePeriodSeconds") and not _namespace_finalizers(obj)

    # ------------------------------------------------------------------ delete

    async def delete(self, res: Resource, namespace: str, name: str,
                     opts: DeleteOptions | None = None) -> tuple[dict[str, Any], bool]:
        """Delete or start deleting. Returns (object or Status, whether it is gone now)."""
        opts = opts or DeleteOptions()
        key = self._key(res, namespace, name)
        for _ in range(MAX_CONFLICT_RETRIES):
            kv = await self.store.get(key)
            if kv is None:
                raise self._not_found(res, name)
            current = self._decode(res, kv)
            meta = current["metadata"]
            if opts.precondition_uid and opts.precondition_uid != meta.get("uid"):
                raise errors.conflict(res.group, res.plural, name,
                                      f"Precondition failed: UID in precondition: {opts.precondition_uid}, "
                                      f"UID in object meta: {meta.get('uid')}")
            if opts.precondition_resource_version and opts.precondition_resource_version != meta["resourceVersion"]:
                raise errors.conflict(res.group, res.plural, name,
                                      f"Precondition failed: ResourceVersion in precondition: "
                                      f"{opts.precondition_resource_version}, ResourceVersion in object meta: "
                                      f"{meta['resourceVersion']}")
            pending = self._deletion_update(res, current, opts)
            if pending is None:
                if opts.dry_run:
                    return self._success_status(res, current), True
                try:
                    return await self._delete_stored(res, key, kv.mod_revision, current, name), True
                except errors.StatusError as exc:
                    if exc.code == 409:
                        continue
                    raise
            if opts.dry_run:
                return pending, False
            encoded = self._changed_encoding(res, pending, current)
            if encoded is None:
                return current, False
            try:
                stored = await self.store.update(key, encoded, kv.mod_revision)
            except (RevisionMismatchError, KeyNotFoundError):
                continue
            pending["metadata"]["resourceVersion"] = str(stored.mod_revision)
            return pending, False
        raise errors.conflict(res.group, res.plural, name, errors.OPTIMISTIC_LOCK_MESSAGE)

    def _deletion_update(self, res: Resource, current: dict[str, Any],
                         opts: DeleteOptions) -> dict[str, Any] | None:
        """The object as it must be stored while deletion is pending, or None to delete it now."""
        obj = json_copy(current)
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        policy = opts.propagation_policy
        if policy and policy not in ("Foreground", "Background", "Orphan"):
            raise self._invalid(res, meta["name"], [Cause(
                "FieldValueNotSupported",
                f'Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan"',
                "propagationPolicy")])
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers = [f for f in finalizers if f != "orphan"] + ["foregroundDeletion"]
        elif policy == "Orphan" and "orphan" not in finalizers:
            finalizers = [f for f in finalizers if f != "foregroundDeletion"] + ["orphan"]
        elif policy == "Background":
            finalizers = [f for f in finalizers if f not in ("orphan", "foregroundDeletion")] \
                if not meta.get("deletionTimestamp") else finalizers
        grace = self._grace_period(res, obj, opts)
        if not finalizers and grace == 0 and not _namespace_finalizers(obj):
            return None
        if res.kind == "Namespace" and not res.group:
            obj.setdefault("status", {})["phase"] = "Terminating"
        if finalizers:
            meta["finalizers"] = finalizers
        if not meta.get("deletionTimestamp"):
            moment = self.clock.time() + grace
            meta["deletionTimestamp"] = format_time(datetime.fromtimestamp(moment, tz=timezone.utc))
            meta["deletionGracePeriodSeconds"] = grace
        elif grace < int(meta.get("deletionGracePeriodSeconds") or 0):
            meta["deletionGracePeriodSeconds"] = grace  # a shorter grace period may replace a longer one
            if grace == 0 and not finalizers:
                return None
        if "generation" in meta and not current["metadata"].get("deletionTimestamp"):
            meta["generation"] = int(meta["generation"]) + 1
        return obj

    def _grace_period(self, res: Resource, obj: dict[str, Any], opts: DeleteOptions) -> int:
        """Pods bound to a node get a graceful deletion the node agent confirms; everything else 0."""
        if res.kind != "Pod" or res.group:
            return 0
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            return 0
        if opts.grace_period_seconds is not None:
            return max(0, int(opts.grace_period_seconds))
        return int(spec.get("terminationGracePeriodSeconds", 30) or 0)

    async def _delete_stored(self, res: Resource, key: str, revision: int, current: dict[str, Any],
                             name: str) -> dict[str, Any]:
        try:
            await self.store.delete(key, revision)
        except KeyNotFoundError:
            raise self._not_found(res, name) from None
        except RevisionMismatchError:
            raise errors.conflict(res.group, res.plural, name, errors.OPTIMISTIC_LOCK_MESSAGE) from None
        return self._success_status(res, current)

    @staticmethod
    def _success_status(res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        details: dict[str, Any] = {"name": meta["name"], "kind": res.plural, "uid": meta.get("uid", "")}
        if res.group:
            details["group"] = res.group
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    async def delete_collection(self, res: Resource, namespace: str, list_opts: ListOptions,
                                opts: DeleteOptions) -> dict[str, Any]:
        listed = await self.list(res, namespace, ListOptions(list_opts.label_selector, list_opts.field_selector))
        deleted = []
        for item in listed["items"]:
            meta = item["metadata"]
            try:
                obj, gone = await self.delete(res, meta.get("namespace", ""), meta["name"], opts)
            except StatusError as exc:
                if exc.code == 404:
                    continue
                raise
            deleted.append(item if gone else obj)
        return {"kind": res.list_kind, "apiVersion": res.api_version,
                "metadata": {"resourceVersion": str(self.store.revision)}, "items": deleted}

    # ------------------------------------------------------------------ watch

    async def watch(self, res: Resource, namespace: str, opts: ListOptions, name: str = "",
                    send_initial: bool | None = None, idle: float | None = None,
                    mark_initial_end: bool = False) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Start a watch; returns (type, object) pairs filtered by selectors and namespace.

        resourceVersion "" or "0" first sends the current objects as ADDED (as upstream does);
        a concrete resourceVersion resumes after it, or fails with 410 if it was compacted.
        Errors in the request are raised here, before any event is produced.
        With `idle`, the pair (WATCH_IDLE, {}) comes after that many seconds without an event, so
        a caller keeping time (bookmarks, timeouts) needs no task of its own; `mark_initial_end`
        puts (WATCH_INITIAL_END, {}) after the initial objects.
        """
        selector = build_selector(res, opts.label_selector, opts.field_selector)
        prefix = storage_prefix(res) + (f"{namespace}/" if res.namespaced and namespace else "")
        if name:
            prefix = self._key(res, namespace, name)
        rv = opts.resource_version
        initial: list[dict[str, Any]] = []
        if send_initial is None:
            send_initial = rv in ("", "0")
        if rv in ("", "0") or send_initial:
            listed = await self.store.list(prefix)
            after = listed.revision
            if send_initial:
                for kv in listed.kvs:
                    if name and kv.key != prefix:
                        continue
                    obj = self._decode(res, kv)
                    if selector.empty or selector.matches(obj):
                        initial.append(obj)
            if rv not in ("", "0"):
                after = parse_resource_version(rv)
        else:
            after = parse_resource_version(rv)
        try:
            watcher = self.store.watch(prefix, after)
        except CompactedError as exc:
            raise errors.gone(f"too old resource version: {exc.requested} ({exc.compacted})") from None
        except FutureRevisionError as exc:
            raise errors.StatusError(504, "Timeout", f"Too large resource version: {exc.requested}, "
                                     f"current: {exc.current}") from None
        return self._events(res, watcher, initial, selector, prefix if name else "", idle, mark_initial_end)

    async def _events(self, res: Resource, watcher: Any, initial: list[dict[str, Any]], selector: Selector,
                      only_key: str, idle: float | None,
                      mark_initial_end: bool) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        try:
            for obj in initial:
                yield "ADDED", obj
            if mark_initial_end:
                yield WATCH_INITIAL_END, {}
            while True:
                try:
                    event = await watcher.next(idle)
                except TimeoutError:
                    yield WATCH_IDLE, {}
                    continue
                if event is None:
                    break
                if only_key and event.kv.key != only_key:
                    continue
                converted = self._filter_event(res, event, selector)
                if converted is not None:
                    yield converted
            if watcher.overflowed:
                raise errors.gone("too old resource version: the watch fell behind")
        finally:
            watcher.close()

    def _decode_watched(self, res: Resource, kv: Any) -> dict[str, Any]:
        """A change decoded once for every watcher of it (the informers, `kubectl get -w`, a
        watching client): they only read what a watch hands them, as informer caches are read."""
        memo_key = (res.group, res.version, res.plural, kv.key, kv.mod_revision)
        obj = self._watched.get(memo_key)
        if obj is None:
            obj = self._watched[memo_key] = self._decode(res, kv)
            if len(self._watched) > WATCHED_MEMO:
                del self._watched[next(iter(self._watched))]  # the oldest: its watchers have it
        return obj

    def _filter_event(self, res: Resource, event: Event, selector: Selector) -> tuple[str, dict[str, Any]] | None:
        if event.type == "DELETE":
            obj = self._decode_watched(res, event.kv)
            return ("DELETED", obj) if selector.empty or selector.matches(obj) else None
        obj = self._decode_watched(res, event.kv)
        if selector.empty:
            return ("ADDED" if event.prev is None else "MODIFIED", obj)
        now = selector.matches(obj)
        before = event.prev is not None and selector.matches(self._decode_watched(res, event.prev))
        if now and before:
            return "MODIFIED", obj
        if now:
            return "ADDED", obj
        if before:
            return "DELETED", obj
        return None

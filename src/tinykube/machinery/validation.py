"""Generic validation of names, labels, annotations and ObjectMeta, in upstream's words."""

from __future__ import annotations

import re
from typing import Any

from tinykube.machinery.errors import FieldErrors
from tinykube.machinery.selectors import key_errors, value_errors

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
ANNOTATIONS_MAX_BYTES = 256 * 1024

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

LABEL_MESSAGE = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                 "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
                 "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
SUBDOMAIN_MESSAGE = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                     "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
                     "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def is_dns1123_label(value: str) -> list[str]:
    out = []
    if len(value) > DNS1123_LABEL_MAX:
        out.append(f"must be no more than {DNS1123_LABEL_MAX} characters")
    if not _LABEL.match(value):
        out.append(LABEL_MESSAGE)
    return out


def is_dns1123_subdomain(value: str) -> list[str]:
    out = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        out.append(f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters")
    if not _SUBDOMAIN.match(value):
        out.append(SUBDOMAIN_MESSAGE)
    return out


def is_path_segment(value: str) -> list[str]:
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    for bad in ("/", "%"):
        if bad in value:
            return [f"may not contain '{bad}'"]
    return []


NAME_RULES = {"label": is_dns1123_label, "subdomain": is_dns1123_subdomain, "path_segment": is_path_segment}


def validate_labels(labels: Any, path: str) -> FieldErrors:
    errs = FieldErrors()
    if labels is None:
        return errs
    if not isinstance(labels, dict):
        errs.invalid(path, labels, "must be a map of string keys and values")
        return errs
    for key, value in labels.items():
        for problem in key_errors(str(key)):
            errs.invalid(path, key, problem)
        if not isinstance(value, str):
            errs.invalid(f"{path}.{key}", value, "must be a string")
            continue
        for problem in value_errors(value):
            errs.invalid(path, value, problem)
    return errs


def validate_annotations(annotations: Any, path: str) -> FieldErrors:
    errs = FieldErrors()
    if annotations is None:
        return errs
    if not isinstance(annotations, dict):
        errs.invalid(path, annotations, "must be a map of string keys and values")
        return errs
    total = 0
    for key, value in annotations.items():
        for problem in key_errors(str(key).lower()):
            errs.invalid(path, key, problem)
        if not isinstance(value, str):
            errs.invalid(f"{path}.{key}", value, "must be a string")
            continue
        total += len(key) + len(value.encode())
    if total > ANNOTATIONS_MAX_BYTES:
        errs.add("FieldValueTooLong", path, f"Too long: must have at most {ANNOTATIONS_MAX_BYTES} bytes")
    return errs


def validate_object_meta(meta: dict[str, Any], namespaced: bool, name_rule: str = "subdomain",
                         path: str = "metadata") -> FieldErrors:
    """ObjectMeta rules shared by every kind: name, namespace, labels, annotations, finalizers, owners."""
    errs = FieldErrors()
    name = meta.get("name")
    check = NAME_RULES[name_rule]
    if not name:
        if not meta.get("generateName"):
            errs.required(f"{path}.name", "name or generateName is required")
    elif not isinstance(name, str):
        errs.invalid(f"{path}.name", name, "must be a string")
    else:
        for problem in check(name):
            errs.invalid(f"{path}.name", name, problem)
    generate = meta.get("generateName")
    if generate and isinstance(generate, str) and not name:
        # upstream checks the prefix with the trailing dash tolerated
        trimmed = generate[:-1] if generate.endswith("-") else generate
        for problem in check(trimmed or "a"):
            errs.invalid(f"{path}.generateName", generate, problem)
    namespace = meta.get("namespace")
    if namespaced:
        if not namespace:
            errs.required(f"{path}.namespace")
        else:
            for problem in is_dns1123_label(namespace):
                errs.invalid(f"{path}.namespace", namespace, problem)
    elif namespace:
        errs.forbidden(f"{path}.namespace", "not allowed on this type")
    errs.extend(validate_labels(meta.get("labels"), f"{path}.labels"))
    errs.extend(validate_annotations(meta.get("annotations"), f"{path}.annotations"))
    finalizers = meta.get("finalizers")
    if finalizers is not None:
        if not isinstance(finalizers, list):
            errs.invalid(f"{path}.finalizers", finalizers, "must be a list of strings")
        else:
            for i, fin in enumerate(finalizers):
                if not isinstance(fin, str):
                    errs.invalid(f"{path}.finalizers[{i}]", fin, "must be a string")
                    continue
                for problem in key_errors(fin):
                    errs.invalid(f"{path}.finalizers", fin, problem)
    owners = meta.get("ownerReferences")
    if owners is not None:
        if not isinstance(owners, list):
            errs.invalid(f"{path}.ownerReferences", owners, "must be a list")
        else:
            controllers = 0
            for i, ref in enumerate(owners):
                p = f"{path}.ownerReferences[{i}]"
                if not isinstance(ref, dict):
                    errs.invalid(p, ref, "must be an object")
                    continue
                for key in ("apiVersion", "kind", "name", "uid"):
                    if not ref.get(key):
                        errs.required(f"{p}.{key}" if key != "uid" else f"{p}.uid",
                                      "uid must not be empty" if key == "uid" else "")
                if ref.get("controller"):
                    controllers += 1
            if controllers > 1:
                errs.invalid(f"{path}.ownerReferences", owners, "Only one reference can have Controller set to true")
    return errs


def is_qualified_name(value: str) -> list[str]:
    """A label or annotation key: an optional DNS-subdomain prefix and a 63-character name."""
    return key_errors(value)


def is_valid_label_value(value: str) -> list[str]:
    return value_errors(value)

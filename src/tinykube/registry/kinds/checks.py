"""The value checks the kinds share, with upstream's messages (apimachinery util/validation).

Names, labels, annotations and selectors come from machinery.validation and
machinery.selectors; the small checks only pod specs and services need live here.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any

from tinykube.machinery import selectors, validation
from tinykube.machinery.errors import FieldErrors
from tinykube.machinery.gorepr import go_repr

PORT_RANGE = "must be between 1 and 65535, inclusive"
ID_RANGE = "must be between 0 and 2147483647, inclusive"
IP_MESSAGE = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
CIDR_MESSAGE = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
RELAXED_ENV_MESSAGE = "a valid environment variable name must consist only of printable ASCII characters other than '='"


def regex_error(message: str, pattern: str, *examples: str) -> str:
    """validation.RegexError: the message, examples, and the regex."""
    if not examples:
        return f"{message} (regex used for validation is '{pattern}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{pattern}')"


# ----------------------------------------------------------------------------- names


def dns1123_label_messages(value: str) -> list[str]:
    return list(validation.is_dns1123_label(value))


def dns1123_subdomain_messages(value: str, prefix: bool = False) -> list[str]:
    """NameIsDNSSubdomain: with prefix, a trailing dash is masked as upstream's maskTrailingDash does."""
    if prefix and len(value) > 1 and value.endswith("-"):
        value = value[:-2] + "a"
    return list(validation.is_dns1123_subdomain(value))


def qualified_name_messages(value: str) -> list[str]:
    """IsQualifiedName: an optional DNS-subdomain prefix and a name part."""
    return list(selectors.key_errors(value))


def label_value_messages(value: str) -> list[str]:
    return list(selectors.value_errors(value))


def dns1123_label(errs: FieldErrors, value: str, path: str) -> None:
    for msg in dns1123_label_messages(value):
        errs.invalid(path, value, msg)


def qualified_name(errs: FieldErrors, value: str, path: str) -> None:
    for msg in qualified_name_messages(value):
        errs.invalid(path, value, msg)


def label_name(errs: FieldErrors, value: str, path: str) -> None:
    """ValidateLabelName."""
    qualified_name(errs, value, path)


def labels(value: Any, path: str) -> FieldErrors:
    return validation.validate_labels(value if isinstance(value, dict) else {}, path)


def annotations(value: Any, path: str) -> FieldErrors:
    return validation.validate_annotations(value if isinstance(value, dict) else {}, path)


# ----------------------------------------------------------------------------- selectors


def label_selector(selector: Any, path: str) -> FieldErrors:
    """ValidateLabelSelector (strict label values)."""
    if selector is None:
        return FieldErrors()
    return selectors.validate_label_selector(selector, path)


def selector_matches(selector: Any, labels_: Any) -> bool | None:
    """Whether LabelSelectorAsSelector(selector) selects these labels: a missing selector selects
    nothing, an empty one everything; None when the selector cannot be converted (a requirement
    with a bad key, value or operator)."""
    if selector is None:
        return False
    if not isinstance(selector, dict) or selectors.validate_label_selector(selector, ""):
        return None
    try:
        parsed = selectors.label_selector_from_object(selector)
    except ValueError:
        return None
    return bool(parsed.matches(labels_ if isinstance(labels_, dict) else {}))


# ----------------------------------------------------------------------------- ports


def port_number(errs: FieldErrors, value: int, path: str) -> None:
    if not 1 <= value <= 65535:
        errs.invalid(path, value, PORT_RANGE)


def port_name_messages(name: str) -> list[str]:
    """IsValidPortName: an IANA_SVC_NAME."""
    messages = []
    if len(name) > 15:
        messages.append("must be no more than 15 characters")
    if not re.fullmatch(r"[-a-z0-9]+", name):
        messages.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search(r"[a-z]", name):
        messages.append("must contain at least one letter (a-z)")
    if "--" in name:
        messages.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        messages.append("must not begin or end with a hyphen")
    return messages


def port_num_or_name(errs: FieldErrors, value: Any, path: str) -> None:
    """ValidatePortNumOrName for an IntOrString (absent means the number 0)."""
    if isinstance(value, str):
        for msg in port_name_messages(value):
            errs.invalid(path, value, msg)
    else:
        port_number(errs, value if isinstance(value, int) and not isinstance(value, bool) else 0, path)


# ----------------------------------------------------------------------------- other strings


def env_var_name_messages(name: str) -> list[str]:
    """IsRelaxedEnvVarName (RelaxedEnvironmentVariableValidation is on in 1.33)."""
    messages = []
    if not name:
        messages.append("environment variable name must be non-empty")
    if any(ord(c) > 127 or not c.isprintable() or c == "=" for c in name):
        messages.append(RELAXED_ENV_MESSAGE)
    return messages


def config_map_key_messages(name: str) -> list[str]:
    """IsConfigMapKey."""
    messages = []
    if len(name) > 253:
        messages.append("must be no more than 253 characters")
    if not re.fullmatch(r"[-._a-zA-Z0-9]+", name):
        messages.append(regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                                    "[-._a-zA-Z0-9]+", "key.name", "KEY_NAME", "key-name"))
    messages.extend(_chdir_prefix_messages(name))
    return messages


def _chdir_prefix_messages(name: str) -> list[str]:
    if name == ".":
        return ["must not be '.'"]
    if name == "..":
        return ["must not be '..'"]
    if name.startswith(".."):
        return ["must not start with '..'"]
    return []


def http_header_name_messages(name: str) -> list[str]:
    if re.fullmatch(r"[-A-Za-z0-9]+", name):
        return []
    return [regex_error("a valid HTTP header must consist of alphanumeric characters or '-'", "[-A-Za-z0-9]+",
                        "X-Header-Name")]


def percent_messages(value: str) -> list[str]:
    """IsValidPercent."""
    if re.fullmatch(r"[0-9]+%", value):
        return []
    return [regex_error("a valid percent string must be a numeric string followed by an ending '%'",
                        "[0-9]+%", "1%", "93%")]


def path_segment_messages(name: str) -> list[str]:
    """IsValidPathSegmentName: usable as one segment of a URL path."""
    return list(validation.is_path_segment(name))


def id_messages(value: int, kind: str) -> list[str]:
    """IsValidUserID / IsValidGroupID."""
    return [] if 0 <= value <= 2147483647 else [ID_RANGE]


# ----------------------------------------------------------------------------- paths and addresses


def no_backsteps(errs: FieldErrors, value: str, path: str) -> None:
    if ".." in value.replace("\\", "/").split("/"):
        errs.invalid(path, value, "must not contain '..'")


def local_descending_path(errs: FieldErrors, value: str, path: str) -> None:
    """Relative, without `..` elements."""
    if value.startswith("/"):
        errs.invalid(path, value, "must be a relative path")
    no_backsteps(errs, value, path)


def local_non_reserved_path(errs: FieldErrors, value: str, path: str) -> None:
    local_descending_path(errs, value, path)
    if value.startswith("..") and not value.startswith("../"):
        errs.invalid(path, value, "must not start with '..'")


def ip_address(errs: FieldErrors, value: str, path: str) -> None:
    if not (_is_ip_text(value) if isinstance(value, str) else _is_ip(value)):
        errs.invalid(path, value, IP_MESSAGE)


def _is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# every status write of a pod names its address (and its node's) again
_is_ip_text = functools.lru_cache(maxsize=16384)(_is_ip)


def cidr(errs: FieldErrors, value: str, path: str) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        errs.invalid(path, value, CIDR_MESSAGE)
        return
    if "/" not in value:
        errs.invalid(path, value, CIDR_MESSAGE)


# ----------------------------------------------------------------------------- rendering


def render(value: Any) -> str:
    return go_repr(value)


def render_struct(type_name: str, value: Any) -> str:
    """A struct upstream prints field by field; shown as its JSON content under its Go type name."""
    rendered = go_repr(value if isinstance(value, dict) else {})
    return type_name + rendered[rendered.index("{"):] if "{" in rendered else f"{type_name}{{}}"


def invalid_struct(errs: FieldErrors, path: str, value: Any, detail: str, go_type: str = "") -> None:
    """Invalid with a struct value: the typed rendering when known (core.Toleration)."""
    from tinykube.registry.kinds import gotypes
    from tinykube.registry.kinds.common import invalid_rendered
    rendered = gotypes.toleration(value) if go_type == "core.Toleration" else render_struct(go_type or "", value)
    invalid_rendered(errs, path, rendered, detail)

"""Label and field selectors: parsing the `-l` / `--field-selector` grammar and matching objects.

Semantics follow apimachinery's labels and fields packages: a label requirement is one of
`k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k` (and `k>n`, `k<n`); requirements
are ANDed. A metav1.LabelSelector's matchLabels and matchExpressions convert to the same form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from tinykube.machinery.errors import FieldErrors


class SelectorError(ValueError):
    pass


_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

SET_OPS = ("in", "notin")


def key_errors(key: str) -> list[str]:
    """Why `key` is not a qualified name (empty list when it is)."""
    prefix, _, name = key.rpartition("/")
    out = []
    if "/" in key and not prefix:
        out.append("prefix part must be non-empty")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        out.append("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                   "characters, '-' or '.', and must start and end with an alphanumeric character")
    if not name:
        out.append("name part must be non-empty")
    elif len(name) > 63:
        out.append("name part must be no more than 63 characters")
    elif not _QUALIFIED.match(name):
        out.append("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                   "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
                   "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
    return out


def value_errors(value: str) -> list[str]:
    if len(value) > 63:
        return ["must be no more than 63 characters"]
    if not _VALUE.match(value):
        return ["a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
                "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',"
                "  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]
    return []


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        op = self.operator
        if op in ("=", "==", "in"):
            return self.key in labels and labels[self.key] in self.values
        if op in ("!=", "notin"):
            return self.key not in labels or labels[self.key] not in self.values
        if op == "exists":
            return self.key in labels
        if op == "!":
            return self.key not in labels
        if op in ("gt", "lt"):
            try:
                have = int(labels[self.key])
            except (KeyError, ValueError):
                return False
            return have > int(self.values[0]) if op == "gt" else have < int(self.values[0])
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == "exists":
            return self.key
        if op == "!":
            return "!" + self.key
        if op in SET_OPS:
            return f"{self.key} {op} ({','.join(sorted(self.values))})"
        if op in ("gt", "lt"):
            return f"{self.key}{'>' if op == 'gt' else '<'}{self.values[0]}"
        return f"{self.key}{'=' if op in ('=', '==') else '!='}{self.values[0]}"


@dataclass(frozen=True)
class LabelSelector:
    """Requirements ANDed together; `nothing` makes a selector that matches no object."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def __post_init__(self) -> None:
        # Plain `key=value` requirements are checked together as one dict-items subset test
        # (C speed): controllers match every pod of a large owner on each sync.
        equal: dict[str, str] = {}
        rest = []
        for r in self.requirements:
            if r.operator in ("=", "==", "in") and len(r.values) == 1 and r.key not in equal:
                equal[r.key] = r.values[0]
            else:
                rest.append(r)
        object.__setattr__(self, "_equal", equal.items())
        object.__setattr__(self, "_rest", tuple(rest))

    def matches(self, labels: dict[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        if not self._equal <= labels.items():  # type: ignore[attr-defined]
            return False
        return all(r.matches(labels) for r in self._rest)  # type: ignore[attr-defined]

    def empty(self) -> bool:
        return not self.nothing and not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in sorted(self.requirements, key=lambda r: r.key))


# ----------------------------------------------------------------------------- parsing

_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[^\s!=,()<>]+)")


def _tokens(text: str) -> list[str]:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos:].strip() == "":
                break
            raise SelectorError(f"unable to parse requirement: found '{text[pos:]}'")
        out.append(m.group(1))
        pos = m.end()
    return out


def _check_key(key: str) -> None:
    problems = key_errors(key)
    if problems:
        raise SelectorError(f'unable to parse requirement: <nil>: Invalid value: "{key}": {"; ".join(problems)}')


def _check_value(value: str) -> None:
    problems = value_errors(value)
    if problems:
        raise SelectorError(f'unable to parse requirement: <nil>: Invalid value: "{value}": {"; ".join(problems)}')


def parse_label_selector(text: str) -> LabelSelector:
    """Parse kubectl's `-l` syntax."""
    tokens = _tokens(text)
    reqs: list[Requirement] = []
    i = 0

    def expect_identifier(what: str) -> str:
        nonlocal i
        if i >= len(tokens) or tokens[i] in ("!=", "==", "=", "!", "(", ")", ",", ">", "<"):
            found = tokens[i] if i < len(tokens) else ""
            raise SelectorError(f"found '{found}', expected: {what}")
        i += 1
        return tokens[i - 1]

    while i < len(tokens):
        if tokens[i] == "!":
            i += 1
            key = expect_identifier("identifier after '!'")
            _check_key(key)
            reqs.append(Requirement(key, "!"))
        else:
            key = expect_identifier("identifier")
            _check_key(key)
            op = tokens[i] if i < len(tokens) else ","
            if op == ",":
                reqs.append(Requirement(key, "exists"))
            elif op in ("=", "==", "!="):
                i += 1
                value = ""
                if i < len(tokens) and tokens[i] not in (",", "(", ")", "=", "==", "!=", "!"):
                    value = tokens[i]
                    i += 1
                _check_value(value)
                reqs.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
            elif op in (">", "<"):
                i += 1
                value = expect_identifier("integer")
                if not re.fullmatch(r"-?\d+", value):
                    raise SelectorError("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be "
                                        "an integer")
                reqs.append(Requirement(key, "gt" if op == ">" else "lt", (value,)))
            elif op.lower() in SET_OPS:
                i += 1
                if i >= len(tokens) or tokens[i] != "(":
                    found = tokens[i] if i < len(tokens) else ""
                    raise SelectorError(f"found '{found}', expected: '('")
                i += 1
                values: list[str] = []
                while True:
                    if i >= len(tokens):
                        raise SelectorError("found '', expected: ',', ')' or identifier")
                    tok = tokens[i]
                    if tok == ")":
                        i += 1
                        break
                    if tok == ",":
                        i += 1
                        continue
                    if tok in ("(", "=", "==", "!=", "!"):
                        raise SelectorError(f"found '{tok}', expected: ',', ')' or identifier")
                    _check_value(tok)
                    values.append(tok)
                    i += 1
                reqs.append(Requirement(key, op.lower(), tuple(values)))
            else:
                raise SelectorError(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt")
        if i < len(tokens):
            if tokens[i] != ",":
                raise SelectorError(f"found '{tokens[i]}', expected: ',' or 'end of string'")
            i += 1
            if i >= len(tokens):
                raise SelectorError("found '', expected: identifier")
    return LabelSelector(tuple(reqs))


def label_selector_from_map(labels: dict[str, str] | None) -> LabelSelector:
    """A ReplicationController's or Service's plain map selector; an empty map matches everything."""
    return LabelSelector(tuple(Requirement(k, "=", (v,)) for k, v in sorted((labels or {}).items())))


_EXPRESSION_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def label_selector_from_object(sel: dict[str, Any] | None) -> LabelSelector:
    """metav1.LabelSelector: None matches nothing, {} matches everything (as upstream)."""
    if sel is None:
        return LabelSelector(nothing=True)
    reqs = [Requirement(k, "=", (v,)) for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for expr in sel.get("matchExpressions") or []:
        op = _EXPRESSION_OPS.get(expr.get("operator", ""))
        if op is None:
            raise SelectorError(f'"{expr.get("operator")}" is not a valid label selector operator')
        reqs.append(Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())))
    return LabelSelector(tuple(reqs))


def selector_string(sel: Any) -> str:
    """The canonical text of a metav1.LabelSelector ("" when empty); SelectorError when invalid,
    as upstream's LabelSelectorAsSelector refuses bad keys, values and operators."""
    if not isinstance(sel, dict):
        return ""
    selector = label_selector_from_object(sel)
    for req in selector.requirements:
        if not isinstance(req.key, str) or key_errors(req.key):
            raise SelectorError(f"invalid label key {req.key!r}")
        if req.operator in ("in", "notin") and not req.values:
            raise SelectorError(f"values must be specified for {req.operator}")
        if req.operator in ("exists", "!") and req.values:
            raise SelectorError(f"values may not be specified for {req.operator}")
        for value in req.values:
            if not isinstance(value, str) or value_errors(value):
                raise SelectorError(f"invalid label value {value!r}")
    return str(selector)


def format_label_selector(sel: dict[str, Any] | None) -> str:
    """metav1.FormatLabelSelector: what `-o wide` SELECTOR and Scale.status.selector show."""
    if sel is None:
        return "<none>"
    try:
        text = selector_string(sel)
    except SelectorError:
        return "<error>"
    return text or "<none>"


def validate_label_selector(sel: dict[str, Any] | None, path: str) -> FieldErrors:
    errs = FieldErrors()
    if sel is None:
        return errs
    for key, value in (sel.get("matchLabels") or {}).items():
        for problem in key_errors(key):
            errs.invalid(f"{path}.matchLabels", key, problem)
        for problem in value_errors(str(value)):
            errs.invalid(f"{path}.matchLabels", value, problem)
    for i, expr in enumerate(sel.get("matchExpressions") or []):
        p = f"{path}.matchExpressions[{i}]"
        op = expr.get("operator", "")
        values = expr.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                errs.required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'")
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.forbidden(f"{p}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        else:
            errs.invalid(f"{p}.operator", op, "not a valid selector operator")
        for problem in key_errors(expr.get("key", "")):
            errs.invalid(f"{p}.key", expr.get("key", ""), problem)
    return errs


# ----------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    operator: str  # "=" or "!="
    value: str

    def matches(self, fields: dict[str, str]) -> bool:
        have = fields.get(self.field, "")
        return have == self.value if self.operator == "=" else have != self.value


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = field(default_factory=tuple)

    def matches(self, fields: dict[str, str]) -> bool:
        return all(r.matches(fields) for r in self.requirements)


def _split_unescaped(text: str, sep: str) -> Iterable[str]:
    part = []
    escaped = False
    for ch in text:
        if escaped:
            part.append("\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            yield "".join(part)
            part = []
        else:
            part.append(ch)
    if escaped:
        raise SelectorError("invalid field selector: trailing escape character")
    yield "".join(part)


def _unescape(value: str) -> str:
    out = []
    i = 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            if value[i + 1] not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{value[i + 1]}")
            out.append(value[i + 1])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_field_selector(text: str) -> FieldSelector:
    reqs = []
    for part in _split_unescaped(text, ","):
        if not part.strip():
            continue
        for op, normalized in (("!=", "!="), ("==", "="), ("=", "=")):
            idx = part.find(op)
            if idx > 0:
                reqs.append(FieldRequirement(part[:idx].strip(), normalized, _unescape(part[idx + len(op):])))
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
    return FieldSelector(tuple(reqs))

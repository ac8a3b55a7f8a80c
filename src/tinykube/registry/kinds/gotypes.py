"""Go's `%#v` of the few typed structs upstream's validation messages print whole.

field.Invalid prints a struct value (a dereferenced pointer too) with `%#v` when the type has no
String method on values: `v1.LabelSelector{MatchLabels:map[string]string{"app":"web"},
MatchExpressions:[]v1.LabelSelectorRequirement(nil)}` or `intstr.IntOrString{Type:1, IntVal:0,
StrVal:"25%"}`. Plain strings, numbers and string maps go through machinery.gorepr.
"""

from __future__ import annotations

from typing import Any, Callable

from tinykube.machinery.gorepr import go_repr


def string(value: Any) -> str:
    return go_repr("" if value is None else str(value))


def int_value(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "0"


def string_map(value: Any) -> str:
    """`map[string]string{"a":"b"}`, or `map[string]string(nil)` when absent."""
    if not isinstance(value, dict):
        return "map[string]string(nil)"
    entries = ", ".join(f"{string(k)}:{string(v)}" for k, v in sorted(value.items()))
    return "map[string]string{" + entries + "}"


def string_slice(value: Any) -> str:
    if not isinstance(value, list):
        return "[]string(nil)"
    return "[]string{" + ", ".join(string(v) for v in value) + "}"


def slice_of(type_name: str, render: Callable[[Any], str], value: Any) -> str:
    if not isinstance(value, list):
        return f"[]{type_name}(nil)"
    return f"[]{type_name}{{" + ", ".join(render(v) for v in value) + "}"


def nil_pointer(type_name: str, value: Any, render: Callable[[Any], str] | None = None) -> str:
    """A pointer field: `(*int32)(nil)` when absent; a set pointer prints as an address upstream,
    which no client can rely on, so the pointed-to value is shown instead."""
    if value is None:
        return f"(*{type_name})(nil)"
    return f"(*{type_name})({render(value) if render else go_repr(value)})"


def int_or_string(value: Any) -> str:
    """intstr.IntOrString: Type 0 with IntVal for numbers, Type 1 with StrVal for strings."""
    if isinstance(value, str):
        return f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{string(value)}}}"
    return f"intstr.IntOrString{{Type:0, IntVal:{int_value(value)}, StrVal:\"\"}}"


def selector_requirement(value: Any) -> str:
    req = value if isinstance(value, dict) else {}
    return (f"v1.LabelSelectorRequirement{{Key:{string(req.get('key'))}, "
            f"Operator:{string(req.get('operator'))}, Values:{string_slice(req.get('values'))}}}")


def label_selector(value: Any) -> str:
    sel = value if isinstance(value, dict) else {}
    expressions = slice_of("v1.LabelSelectorRequirement", selector_requirement, sel.get("matchExpressions"))
    return f"v1.LabelSelector{{MatchLabels:{string_map(sel.get('matchLabels'))}, MatchExpressions:{expressions}}}"


def strategy(type_name: str, rolling_type: str, value: Any) -> str:
    """apps.DeploymentStrategy and its StatefulSet and DaemonSet cousins."""
    strat = value if isinstance(value, dict) else {}
    rolling = nil_pointer(rolling_type, strat.get("rollingUpdate"))
    return f"{type_name}{{Type:{string(strat.get('type'))}, RollingUpdate:{rolling}}}"


def service_port(value: Any) -> str:
    port = value if isinstance(value, dict) else {}
    app_protocol = nil_pointer("string", port.get("appProtocol"))
    return (f"core.ServicePort{{Name:{string(port.get('name'))}, Protocol:{string(port.get('protocol'))}, "
            f"AppProtocol:{app_protocol}, Port:{int_value(port.get('port'))}, "
            f"TargetPort:{int_or_string(port.get('targetPort'))}, NodePort:{int_value(port.get('nodePort'))}}}")


def toleration(value: Any) -> str:
    tol = value if isinstance(value, dict) else {}
    seconds = nil_pointer("int64", tol.get("tolerationSeconds"))
    return (f"core.Toleration{{Key:{string(tol.get('key'))}, Operator:{string(tol.get('operator'))}, "
            f"Value:{string(tol.get('value'))}, Effect:{string(tol.get('effect'))}, TolerationSeconds:{seconds}}}")


def sts_rolling_update(value: Any) -> str:
    rolling = value if isinstance(value, dict) else {}
    unavailable = nil_pointer("intstr.IntOrString", rolling.get("maxUnavailable"), int_or_string)
    return (f"apps.RollingUpdateStatefulSetStrategy{{Partition:{int_value(rolling.get('partition'))}, "
            f"MaxUnavailable:{unavailable}}}")


def taint(value: Any) -> str:
    item = value if isinstance(value, dict) else {}
    added = nil_pointer("v1.Time", item.get("timeAdded"))
    return (f"core.Taint{{Key:{string(item.get('key'))}, Value:{string(item.get('value'))}, "
            f"Effect:{string(item.get('effect'))}, TimeAdded:{added}}}")

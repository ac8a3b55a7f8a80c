#!/usr/bin/env python3
"""Dev-only: build src/tinykube/machinery/protobuf_messages.json from upstream sources.

The table is the Kubernetes protobuf wire interface (message names, field numbers, wire
types) joined with what the Go types say about JSON (field name, pointer, omitempty,
inline), which is what `tinykube.machinery.protobuf` needs to turn a protobuf request body
into the JSON object a JSON client would have sent.

Usage (checkouts of k8s.io/api and k8s.io/apimachinery at the release tag we emulate,
e.g. v0.33.0 for Kubernetes 1.33):

    python tools/gen_protobuf_table.py /path/to/api /path/to/apimachinery \
        -o src/tinykube/machinery/protobuf_messages.json

Only generally available group versions (v1, v2, ...) of k8s.io/api are included, plus the
apimachinery packages they reference. Nothing from upstream is copied except names,
numbers and types.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# apimachinery packages whose messages the API types reference (directory, proto package).
APIMACHINERY_PACKAGES = [
    "pkg/apis/meta/v1",
    "pkg/runtime",
    "pkg/api/resource",
    "pkg/util/intstr",
]

# Messages whose JSON form is custom; the decoder converts them itself, so their table
# entry only describes the wire (proto names, no Go join).
SPECIAL = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Timestamp",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1",
    "k8s.io.apimachinery.pkg.api.resource.Quantity",
    "k8s.io.apimachinery.pkg.api.resource.QuantityValue",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
    "k8s.io.apimachinery.pkg.runtime.RawExtension",
    "k8s.io.apimachinery.pkg.runtime.Unknown",
    "k8s.io.apimachinery.pkg.runtime.TypeMeta",
}

SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
           "fixed32", "fixed64", "sfixed32", "sfixed64", "double", "float"}

GA_VERSION = re.compile(r"^v\d+$")


@dataclass
class ProtoField:
    number: int
    name: str
    type: str  # scalar name, full message name, or "map<K,V>"
    repeated: bool


@dataclass
class ProtoFile:
    package: str
    messages: dict[str, list[ProtoField]] = field(default_factory=dict)


@dataclass
class GoField:
    name: str  # "" when embedded
    type: str
    json: str | None  # the json tag, None when absent
    number: int


@dataclass
class GoPackage:
    structs: dict[str, list[GoField]] = field(default_factory=dict)
    slices: set[str] = field(default_factory=set)  # `type X []T`


# ---------------------------------------------------------------- .proto parsing

_FIELD = re.compile(r"^(optional|repeated|required)\s+([.\w]+)\s+(\w+)\s*=\s*(\d+)\s*(?:\[.*\])?;$")
_MAP = re.compile(r"^map<\s*(\w+)\s*,\s*([.\w]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*(?:\[.*\])?;$")


def parse_proto(text: str) -> ProtoFile:
    """The package and messages of a k8s generated.proto (flat messages, proto2)."""
    lines = [re.sub(r"//.*", "", line).strip() for line in text.splitlines()]
    package = next(m.group(1) for line in lines if (m := re.match(r"^package\s+([\w.]+);", line)))
    out = ProtoFile(package)
    current: list[ProtoField] | None = None
    for line in lines:
        if m := re.match(r"^message\s+(\w+)\s*\{$", line):
            if current is not None:
                raise SystemExit(f"nested message {m.group(1)} in {package} is not supported")
            current = out.messages.setdefault(m.group(1), [])
        elif line == "}":
            current = None
        elif current is not None and line:
            current.append(_parse_field(line, package))
    return out


def _parse_field(line: str, package: str) -> ProtoField:
    if m := _FIELD.match(line):
        label, typ, name, num = m.groups()
        return ProtoField(int(num), name, _qualify(typ, package), label == "repeated")
    if m := _MAP.match(line):
        key, value, name, num = m.groups()
        return ProtoField(int(num), name, f"map<{key},{_qualify(value, package)}>", False)
    raise SystemExit(f"cannot parse proto field line in {package}: {line!r}")


def _qualify(typ: str, package: str) -> str:
    if typ in SCALARS:
        return typ
    if typ.startswith("."):
        return typ[1:]
    return f"{package}.{typ}"


# ---------------------------------------------------------------- Go parsing

_GO_FIELD = re.compile(r"^(?:(\w+)\s+)?([][*\w.]+(?:\[[\w.*]+\][][*\w.]+)?)\s+`([^`]*)`$")


def parse_go_package(directory: Path) -> GoPackage:
    """Struct fields (with their json/protobuf tags) and slice types of a Go package."""
    pkg = GoPackage()
    for path in sorted(directory.glob("*.go")):
        if path.name.endswith("_test.go") or path.name.startswith(("zz_generated", "generated.")):
            continue
        _parse_go_file(path.read_text(), pkg)
    return pkg


def _parse_go_file(text: str, pkg: GoPackage) -> None:
    lines = [re.sub(r"^\s*//.*", "", line).rstrip() for line in text.splitlines()]
    struct: list[GoField] | None = None
    depth = 0
    for line in lines:
        stripped = line.strip()
        if struct is None:
            if m := re.match(r"^type\s+(\w+)\s+struct\s*\{$", stripped):
                struct = pkg.structs.setdefault(m.group(1), [])
                depth = 1
            elif m := re.match(r"^type\s+(\w+)\s+\[\]", stripped):
                pkg.slices.add(m.group(1))
            continue
        depth += stripped.count("{") - stripped.count("}")
        if depth <= 0:
            struct = None
            continue
        if depth == 1 and (m := _GO_FIELD.match(stripped)):
            goname, gotype, tags = m.groups()
            proto = re.search(r'protobuf:"([^"]*)"', tags)
            if not proto or proto.group(1) == "-":
                continue
            js = re.search(r'json:"([^"]*)"', tags)
            number = int(proto.group(1).split(",")[1])
            struct.append(GoField(goname or "", gotype, js.group(1) if js else None, number))


# ---------------------------------------------------------------- joining


def field_entry(pf: ProtoField, gf: GoField | None, package: str) -> list[object]:
    """[number, json name, type, flags] with flags r=repeated p=pointer o=omitempty z=omitzero i=inline."""
    typ = _shorten(pf.type, package)
    if gf is None:
        return [pf.number, pf.name, typ, "r" if pf.repeated else ""]
    options = (gf.json or "").split(",")
    name = options[0]
    flags = ""
    if pf.repeated:
        flags += "r"
    if gf.type.startswith("*"):
        flags += "p"
    if "omitempty" in options[1:]:
        flags += "o"
    if "omitzero" in options[1:]:
        flags += "z"
    if not name:
        if gf.name:
            name = gf.name
        else:
            flags += "i"
    return [pf.number, name, typ, flags]


def _shorten(typ: str, package: str) -> str:
    """Same-package message names are written bare (also inside map<>)."""
    prefix = package + "."
    if typ.startswith("map<"):
        key, value = typ[4:-1].split(",")
        return f"map<{key},{_shorten(value, package)}>"
    if typ.startswith(prefix) and "." not in typ[len(prefix):]:
        return typ[len(prefix):]
    return typ


def build_package(proto: ProtoFile, go: GoPackage) -> tuple[dict[str, list[list[object]]], list[str]]:
    """The message table of one package, and its list-wrapper messages."""
    messages: dict[str, list[list[object]]] = {}
    lists: list[str] = []
    for name, pfields in proto.messages.items():
        full = f"{proto.package}.{name}"
        by_number = {pf.number: pf for pf in pfields}
        if name in go.slices and [(f.number, f.name, f.repeated) for f in pfields] == [(1, "items", True)]:
            lists.append(full)
            messages[name] = [field_entry(pfields[0], None, proto.package)]
            continue
        gofields = go.structs.get(name)
        if full in SPECIAL or gofields is None:
            if full not in SPECIAL:
                print(f"warning: no Go struct for {full}; using proto names", file=sys.stderr)
            messages[name] = [field_entry(pf, None, proto.package) for pf in pfields]
            continue
        entries = []
        for gf in gofields:
            pf = by_number.pop(gf.number, None)
            if pf is None:
                raise SystemExit(f"{full}: Go field {gf.name or gf.type} has protobuf number {gf.number} not in the proto")
            entries.append(field_entry(pf, gf, proto.package))
        if by_number:
            raise SystemExit(f"{full}: proto fields {sorted(by_number)} have no Go field")
        messages[name] = entries
    return messages, lists


def group_version(api_dir: Path, package_dir: Path) -> str:
    """"apps/v1" (or "v1" for the core group) from register.go's GroupName."""
    text = (package_dir / "register.go").read_text()
    group = re.search(r'GroupName\s*=\s*"([^"]*)"', text).group(1)  # type: ignore[union-attr]
    return f"{group}/{package_dir.name}" if group else package_dir.name


def generate(api_dir: Path, machinery_dir: Path, source_label: str) -> dict[str, Any]:
    packages: dict[str, dict[str, list[list[object]]]] = {}
    lists: list[str] = []
    groups: dict[str, str] = {}
    dirs = [machinery_dir / rel for rel in APIMACHINERY_PACKAGES]
    api_dirs = sorted(p.parent for p in api_dir.glob("*/*/generated.proto") if GA_VERSION.match(p.parent.name))
    for directory in dirs + api_dirs:
        proto = parse_proto((directory / "generated.proto").read_text())
        msgs, wrappers = build_package(proto, parse_go_package(directory))
        packages[proto.package] = msgs
        lists.extend(wrappers)
        if directory in api_dirs and (directory / "register.go").exists():
            groups[group_version(api_dir, directory)] = proto.package
    check_references(packages)
    return {"source": source_label, "groups": dict(sorted(groups.items())), "lists": sorted(lists),
            "packages": packages}


def check_references(packages: dict[str, dict[str, list[list[object]]]]) -> None:
    """Every message type a field names must be in the table."""
    known = {f"{pkg}.{name}" for pkg, msgs in packages.items() for name in msgs}
    for pkg, msgs in packages.items():
        for name, entries in msgs.items():
            for entry in entries:
                typ = str(entry[2])
                if typ.startswith("map<"):
                    typ = typ[4:-1].split(",")[1]
                if typ in SCALARS:
                    continue
                full = typ if "." in typ else f"{pkg}.{typ}"
                if full not in known:
                    raise SystemExit(f"{pkg}.{name}: field type {full} is not in the table")


def dump(table: dict[str, Any]) -> str:
    """Compact JSON with one message per line, so diffs stay readable."""
    out = ["{"]
    out.append(f'"source": {json.dumps(table["source"])},')
    out.append(f'"groups": {json.dumps(table["groups"], separators=(",", ":"))},')
    out.append(f'"lists": {json.dumps(table["lists"], separators=(",", ":"))},')
    out.append('"packages": {')
    packages = table["packages"]
    for i, (pkg, msgs) in enumerate(packages.items()):
        out.append(f"{json.dumps(pkg)}: {{")
        for j, (name, entries) in enumerate(msgs.items()):
            comma = "," if j < len(msgs) - 1 else ""
            out.append(f"{json.dumps(name)}: {json.dumps(entries, separators=(',', ':'))}{comma}")
        out.append("}" + ("," if i < len(packages) - 1 else ""))
    out.append("}}")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("api", type=Path, help="checkout of k8s.io/api")
    parser.add_argument("apimachinery", type=Path, help="checkout of k8s.io/apimachinery")
    parser.add_argument("-o", "--output", type=Path, default=Path("src/tinykube/machinery/protobuf_messages.json"))
    parser.add_argument("--source", default="k8s.io/api v0.33.0, k8s.io/apimachinery v0.33.0")
    args = parser.parse_args()
    table = generate(args.api, args.apimachinery, args.source)
    args.output.write_text(dump(table))
    count = sum(len(m) for m in table["packages"].values())
    print(f"wrote {args.output}: {count} messages, {len(table['groups'])} group versions")


if __name__ == "__main__":
    main()

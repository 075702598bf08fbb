"""Decode scalar option values with Packer's weak typing: bools, ints, strings, lists, durations."""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from .json_format import Node, describe_kind
from .report import Report
from .schema import DURATION, STRINGS


_INVALID = object()


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False", ""}
_INT_RE = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)")
_DURATION_RE = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
                   "m": 60.0, "h": 3600.0}


def _to_bool(value: Any, kind: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    return _INVALID


def _to_int(value: Any, kind: str) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else _INVALID
    if isinstance(value, str):
        if value == "":
            return 0
        if _INT_RE.fullmatch(value) and len(value) < 40:
            sign = -1 if value.startswith("-") else 1
            digits = value.lstrip("+-")
            base = {"0x": 16, "0o": 8, "0b": 2}.get(digits[:2].lower(), 10)
            return sign * int(digits[2:] if base != 10 else digits, base)
    return _INVALID


def parse_duration(text: str) -> float | None:
    """Parse a Go duration (``"1h5m"``, ``"500ms"``, ``"-1.5s"``) into seconds, or None."""
    text = text.strip()
    sign = 1.0
    if text[:1] in "+-" and text:
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if not text:
        return None
    total = 0.0
    position = 0
    while position < len(text):
        match = _DURATION_RE.match(text, position)
        if not match or match.group(1) in ("", "."):
            return None
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    return sign * total


def _to_duration(node: Node, value: Any, path: str, report: Report) -> Any:
    key = path.rsplit(".", 1)[-1]
    if isinstance(value, str):
        if value == "":
            return 0.0
        seconds = parse_duration(value)
        if seconds is not None:
            return seconds
        hint = f" (did you mean '{value.strip()}s'?)" if _INT_RE.fullmatch(value.strip()) else ""
        report.error(f"{key} must be {DURATION}, got {value!r}{hint}; units are ns, us, ms, s, m "
                     "and h", path, node.position)
        return _INVALID
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return 0.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        report.error(f"{key} must be {DURATION}, got the number {value!r}, which has no unit; "
                     f"write \"{value}s\" for seconds", path, node.position)
        return _INVALID
    report.error(f"{key} must be {DURATION}, got {shown_value(node)}", path, node.position)
    return _INVALID


def _template_string(node: Node, path: str, render: Callable | None,
                     check: Callable | None) -> Any:
    """Return a string node's value rendered, or for run-time options only checked."""
    if render is not None:
        return render(node.value, node, path)
    if check is not None and not check(node.value, node, path):
        return _INVALID
    return node.value


def _to_string(node: Node, path: str, report: Report, render: Callable | None,
               check: Callable | None = None) -> Any:
    """Convert to a string; render it, or for run-time options only ``check`` it."""
    key = path.rsplit(".", 1)[-1]
    if node.kind == "string":
        return _template_string(node, path, render, check)
    if node.kind == "number":
        return _json_scalar(node)
    if node.kind == "null":
        return ""
    hint = " in double quotes" if node.kind == "bool" else ""
    report.error(f"{key} must be a string{hint}, got {shown_value(node)}", path, node.position)
    return _INVALID


def _to_strings(node: Node, path: str, report: Report, render: Callable | None,
                check: Callable | None = None) -> Any:
    key = path.rsplit(".", 1)[-1]
    if node.kind == "string":
        text = _template_string(node, path, render, check)
        if text is _INVALID:
            return text
        # Like Packer, a string where a list is expected is split on commas.
        return [piece.strip() for piece in text.split(",")] if text.strip() else []
    if node.kind in ("number", "bool"):
        if node.kind == "bool":
            report.error(f"{key} must be {STRINGS}, got {shown_value(node)}", path, node.position)
            return _INVALID
        return [_json_scalar(node)]
    if node.kind == "object":
        report.error(f"{key} must be {STRINGS}, got an object", path, node.position)
        return _INVALID
    if node.kind == "null":
        return []
    result = []
    ok = True
    for index, item in enumerate(node.value):
        value = _to_string(item, f"{path}[{index}]", report, render, check)
        if value is _INVALID:
            ok = False
        else:
            result.append(value)
    return result if ok else _INVALID


def _json_scalar(node: Node) -> str:
    value = node.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        # Go formats whole floats without a fraction: 14.0 -> "14".
        return str(int(value))
    return str(value)


def shown_value(node: Node) -> str:
    """Describe a value for a message as the template wrote it, clipped when long."""
    if node.kind in ("object", "array"):
        text = json.dumps(node.plain(), ensure_ascii=False)
        text = text if len(text) <= 60 else text[:57] + "..."
        return f"{describe_kind(node)} {text}"
    if node.kind == "string":
        return repr(node.value)
    if node.kind == "number":
        return f"the number {node.raw or node.value}"
    if node.kind == "bool":
        return "true" if node.value else "false"
    return "null"

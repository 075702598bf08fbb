"""Go text/template's built-in functions: not, comparisons, len, index, slice, print, escapers."""

from __future__ import annotations

import urllib.parse
from typing import Any, Mapping

from .func_table import _function
from .gofmt import (_from_utf8, _utf8, format_value, go_type, is_int, sprint, sprintf, sprintln,
                    truth)
from .interpolate_error import InterpolationError
from .suggest import _list_names, sentences, suggest


@_function("not", ("any",))
def _not(value: Any) -> bool:
    return not truth(value)


def _basic_kind(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


@_function("eq", ("any", "any"), variadic="any")
def _eq(first: Any, *others: Any) -> bool:
    kind = _basic_kind(first)
    for other in others:
        other_kind = _basic_kind(other)
        if kind != other_kind:
            if "nil" not in (kind, other_kind):
                raise InterpolationError(f"incompatible types for comparison: "
                                         f"{go_type(first)} and {go_type(other)}")
            continue
        if isinstance(first, (list, tuple, Mapping)) or isinstance(other, (list, tuple, Mapping)):
            raise InterpolationError(f"non-comparable type {go_type(first)} in eq")
        if first == other:
            return True
    return False


@_function("ne", ("any", "any"))
def _ne(first: Any, second: Any) -> bool:
    return not _eq(first, second)


@_function("lt", ("any", "any"))
def _lt(first: Any, second: Any) -> bool:
    kinds = (_basic_kind(first), _basic_kind(second))
    for kind, value in zip(kinds, (first, second)):
        if kind not in ("int", "float", "string"):
            raise InterpolationError(f"invalid type for comparison: {go_type(value)}; "
                                     "lt, le, gt and ge compare numbers or strings")
    if kinds[0] != kinds[1]:
        raise InterpolationError(f"incompatible types for comparison: "
                                 f"{go_type(first)} and {go_type(second)}")
    return first < second


@_function("le", ("any", "any"))
def _le(first: Any, second: Any) -> bool:
    return _lt(first, second) or _eq(first, second)


@_function("gt", ("any", "any"))
def _gt(first: Any, second: Any) -> bool:
    return not _le(first, second)


@_function("ge", ("any", "any"))
def _ge(first: Any, second: Any) -> bool:
    return not _lt(first, second)


@_function("len", ("any",))
def _len(item: Any) -> int:
    # Go strings are bytes, so len counts UTF-8 bytes.
    if isinstance(item, str):
        return len(_utf8(item))
    if isinstance(item, (list, tuple, Mapping)):
        return len(item)
    raise InterpolationError(f"len of {go_type(item)} value {format_value(item)!r} is not "
                             "defined; len takes a string, list or map")


def _check_index(index: Any, container: Any) -> int:
    if not is_int(index):
        raise InterpolationError(f"cannot index {go_type(container)} with {go_type(index)} "
                                 f"{format_value(index)!r}; use an integer")
    return index


def _index_one(item: Any, key: Any) -> Any:
    if isinstance(item, Mapping):
        try:
            if key in item:
                return item[key]
        except TypeError:
            pass
        keys = [str(name) for name in item]
        raise InterpolationError(sentences(
            f"map has no key {format_value(key)!r}{suggest(format_value(key), keys)}",
            f"Keys: {_list_names(keys)}"))
    if isinstance(item, (str, list, tuple)):
        sequence = _utf8(item) if isinstance(item, str) else item
        position = _check_index(key, item)
        if not 0 <= position < len(sequence):
            raise InterpolationError(f"index out of range: {position} "
                                     f"(length {len(sequence)})")
        return sequence[position]
    if item is None:
        raise InterpolationError("index of untyped nil")
    raise InterpolationError(f"can't index item of type {go_type(item)}")


@_function("index", ("any",), variadic="any")
def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        item = _index_one(item, key)
    return item


@_function("slice", ("any",), variadic="any")
def _slice(item: Any, *indexes: Any) -> Any:
    if len(indexes) > 3:
        raise InterpolationError(f"too many slice indexes: {len(indexes)}; slice takes up to 3")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise InterpolationError("cannot 3-index slice a string")
        sequence: Any = _utf8(item)
    elif isinstance(item, (list, tuple)):
        sequence = list(item)
    elif item is None:
        raise InterpolationError("slice of untyped nil")
    else:
        raise InterpolationError(f"can't slice item of type {go_type(item)}")

    bounds = [0, len(sequence), len(sequence)]
    for position, index in enumerate(indexes):
        index = _check_index(index, item)
        if not 0 <= index <= len(sequence):
            raise InterpolationError(f"index out of range: {index} (length {len(sequence)})")
        bounds[position] = index
    if bounds[0] > bounds[1]:
        raise InterpolationError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    if bounds[1] > bounds[2]:
        raise InterpolationError(f"invalid slice index: {bounds[1]} > {bounds[2]}")
    result = sequence[bounds[0]:bounds[1]]
    return _from_utf8(result) if isinstance(item, str) else result


@_function("print", variadic="any")
def _print(*values: Any) -> str:
    return sprint(values)


@_function("printf", ("string",), variadic="any")
def _printf(template: str, *values: Any) -> str:
    return sprintf(template, list(values))


@_function("println", variadic="any")
def _println(*values: Any) -> str:
    return sprintln(values)


def _escaper_text(values: tuple[Any, ...]) -> str:
    if len(values) == 1 and isinstance(values[0], str):
        return values[0]
    return sprint(values)


_HTML_ESCAPES = {"<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&#39;", '"': "&#34;",
                 "\0": "\ufffd"}
_JS_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E",
               "&": "\\u0026", "=": "\\u003D"}


@_function("html", variadic="any")
def _html(*values: Any) -> str:
    return "".join(_HTML_ESCAPES.get(c, c) for c in _escaper_text(values))


@_function("js", variadic="any")
def _js(*values: Any) -> str:
    out = []
    for char in _escaper_text(values):
        code = ord(char)
        if char in _JS_ESCAPES:
            out.append(_JS_ESCAPES[char])
        elif code < 0x20:
            out.append(f"\\u{code:04X}")
        elif code > 0x7F and not char.isprintable():
            out.append(f"\\u{code:04X}")
        else:
            out.append(char)
    return "".join(out)


@_function("urlquery", variadic="any")
def _urlquery(*values: Any) -> str:
    return urllib.parse.quote_plus(_utf8(_escaper_text(values)), safe="")

"""Packer's own template functions: user, env, build, timestamp, isotime, uuid and the rest."""

from __future__ import annotations

import calendar
import os
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from .func_table import _function
from .gotime import as_utc, format_go_time, format_strftime
from .interpolate_error import InterpolationError
from .suggest import _list_names, sentences, suggest

if TYPE_CHECKING:
    from .interpolate import Context


#: The Packer release whose template behavior nbdocker follows; ``{{packer_version}}``.
PACKER_VERSION = "1.16.0"

#: Keys of the data a docker build shares with provisioners and post-processors
#: through ``{{build `Key`}}``.
BUILD_DATA_KEYS = ("ID", "ConnType", "PackerRunUUID", "SourceImageSha256", "SourceImageDigest",
                   "ImageSha256", "Digest", "Host", "Port", "User", "Password", "PackerHTTPIP",
                   "PackerHTTPPort", "PackerHTTPAddr")


# --- UUID ---------------------------------------------------------------------------

_uuid_lock = threading.Lock()
_uuid_state = {"millis": 0, "counter": 0}


def uuid7() -> str:
    """Return a time-ordered UUID version 7 (RFC 9562).

    The 12-bit field after the version is a counter, so UUIDs made in the same
    millisecond by this process still sort in the order they were made.
    """
    with _uuid_lock:
        millis = time.time_ns() // 1_000_000
        if millis > _uuid_state["millis"]:
            _uuid_state["millis"], _uuid_state["counter"] = millis, secrets.randbits(11)
        else:
            _uuid_state["counter"] += 1
            if _uuid_state["counter"] > 0xFFF:
                _uuid_state["millis"] += 1
                _uuid_state["counter"] = secrets.randbits(11)
        millis, counter = _uuid_state["millis"], _uuid_state["counter"]
    value = (millis << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | secrets.randbits(62)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


# Packer's functions.


@_function("user", ("string",), needs_context=True)
def _user(ctx: Context, name: str) -> str:
    variables = ctx.variables
    if name in variables:
        return variables[name]
    if not ctx.user_vars_required:
        return ""
    message = f"user variable {name!r} is not defined"
    hint = suggest(name, variables)
    if hint:
        raise InterpolationError(message + hint)
    if not variables:
        raise InterpolationError(message + "; the template defines no variables")
    raise InterpolationError(f"{message}; defined variables: {_list_names(variables)}")


@_function("env", ("string",), needs_context=True)
def _env(ctx: Context, name: str) -> str:
    if not ctx.env_allowed:
        raise InterpolationError(
            "env vars are not allowed here: {{env}} works only in the default value of a "
            "variable; declare a variable whose default is {{env `NAME`}} and read it "
            "with {{user `name`}}")
    environment = ctx.env if ctx.env is not None else os.environ
    return environment.get(name, "")


@_function("timestamp", needs_context=True)
def _timestamp(ctx: Context) -> str:
    return str(calendar.timegm(as_utc(ctx.now).utctimetuple()))


@_function("isotime", variadic="string", needs_context=True)
def _isotime(ctx: Context, *layouts: str) -> str:
    if len(layouts) > 1:
        raise InterpolationError(
            f"isotime takes at most one layout, got {len(layouts)}: {list(layouts)!r}")
    layout = layouts[0] if layouts else "2006-01-02T15:04:05Z07:00"
    return format_go_time(as_utc(ctx.now), layout)


@_function("strftime", ("string",), needs_context=True)
def _strftime(ctx: Context, template: str) -> str:
    return format_strftime(as_utc(ctx.now), template)


@_function("uuid")
def _uuid() -> str:
    return uuid7()


@_function("pwd")
def _pwd() -> str:
    return os.getcwd()


@_function("template_dir", needs_context=True)
def _template_dir(ctx: Context) -> str:
    if ctx.template_dir is None:
        raise InterpolationError(
            "template path not available: the template was not read from a file, so "
            "template_dir has no value; load the template from a file or use pwd")
    return os.path.abspath(ctx.template_dir)


def _component_value(value: str | None, function: str) -> str:
    """Return the value of build_name or build_type, which only components have."""
    if not value:
        raise InterpolationError(f"{function} not available here: it works only in "
                                 "builders, provisioners and post-processors")
    return value


@_function("build_name", needs_context=True)
def _build_name(ctx: Context) -> str:
    return _component_value(ctx.build_name, "build_name")


@_function("build_type", needs_context=True)
def _build_type(ctx: Context) -> str:
    return _component_value(ctx.build_type, "build_type")


@_function("packer_version")
def _packer_version() -> str:
    return PACKER_VERSION


@_function("build", ("string",), needs_context=True)
def _build(ctx: Context, key: str) -> Any:
    data = ctx.build_data
    if data is None:
        # At prepare time the value is unknown: keep a placeholder to render at run time.
        if key in BUILD_DATA_KEYS:
            return "{{.%s}}" % key
        raise InterpolationError(sentences(
            f"build data {key!r} is not defined{suggest(key, BUILD_DATA_KEYS)}",
            f"Declared keys: {', '.join(BUILD_DATA_KEYS)}"))
    if key in data:
        return data[key]
    if key in BUILD_DATA_KEYS:
        raise InterpolationError(f"build data {key!r} is not available in this step. "
                                 f"Available keys: {_list_names(data)}")
    raise InterpolationError(sentences(
        f"build data {key!r} is not defined{suggest(key, data)}",
        f"Available keys: {_list_names(data)}"))


@_function("split", ("string", "string", "int"))
def _split(text: str, separator: str, index: int) -> str:
    # Go's strings.Split with an empty separator splits after each character.
    pieces = text.split(separator) if separator else list(text)
    if not 0 <= index < len(pieces):
        raise InterpolationError(
            f"split: index {index} is out of range: splitting {text!r} on {separator!r} "
            f"gives {len(pieces)} piece(s), numbered from 0")
    return pieces[index]


@_function("replace", ("string", "string", "int", "string"))
def _replace(old: str, new: str, count: int, text: str) -> str:
    return text.replace(old, new, count if count >= 0 else -1)


@_function("replace_all", ("string", "string", "string"))
def _replace_all(old: str, new: str, text: str) -> str:
    return text.replace(old, new)


def _map_case(text: str, convert: Callable[[str], str]) -> str:
    # Go maps each character to one character, so a character whose full mapping has
    # more than one (German sharp s to "SS") stays as it is.
    # NOTE: Go lowercases U+0130 (dotted capital I) to "i"; here it stays unchanged.
    if text.isascii():
        return convert(text)
    return "".join(c if len(convert(c)) != 1 else convert(c) for c in text)


@_function("lower", ("string",))
def _lower(text: str) -> str:
    return _map_case(text, str.lower)


@_function("upper", ("string",))
def _upper(text: str) -> str:
    return _map_case(text, str.upper)

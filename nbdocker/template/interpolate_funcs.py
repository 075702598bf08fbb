"""Functions of Packer's JSON template engine and of Go's text/template, in pure Python.

Each function takes and returns plain Python values: ``str``, ``int``, ``float``, ``bool``,
``None`` (Go's nil), lists and mappings. Values print the way Go's ``fmt`` prints them
(see ``format_value`` and ``sprintf``), so ``{{ print 1.0 }}`` renders ``1`` as in Packer.
Functions report failures as InterpolationError; the executor adds the action's offset.
"""

from __future__ import annotations

import calendar
import datetime
import difflib
import math
import os
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from .interpolate_parse import InterpolationError

if TYPE_CHECKING:
    from .interpolate import Context

#: The Packer release whose template behavior nbdocker follows; ``{{packer_version}}``.
PACKER_VERSION = "1.16.0"

#: Keys of the data a docker build shares with provisioners and post-processors
#: through ``{{build `Key`}}``.
BUILD_DATA_KEYS = ("ID", "ConnType", "PackerRunUUID", "SourceImageSha256", "SourceImageDigest",
                   "ImageSha256", "Digest", "Host", "Port", "User", "Password", "PackerHTTPIP",
                   "PackerHTTPPort", "PackerHTTPAddr")

#: Go's fmt rejects widths and precisions above this value (``%!(BADWIDTH)``).
_MAX_WIDTH = 1_000_000

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def suggest(name: str, candidates: Iterable[str]) -> str:
    """Return "; did you mean 'x'?" for the candidates closest to name, or ""."""
    candidates = list(candidates)
    matches = [c for c in candidates if c.lower() == name.lower() and c != name]
    matches += [c for c in difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
                if c not in matches]
    if not matches:
        return ""
    quoted = [repr(m) for m in matches[:3]]
    choices = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"; did you mean {choices}?"


def join_sentences(first: str, second: str) -> str:
    """Join two sentences; the first may end in a question from ``suggest``."""
    return f"{first} {second}" if first.endswith("?") else f"{first}. {second}"


def _list_names(names: Iterable[str], limit: int = 20) -> str:
    names = sorted(names)
    listed = ", ".join(names[:limit])
    if len(names) > limit:
        listed += f" and {len(names) - limit} more"
    return listed


# --- Go values ----------------------------------------------------------------------


def go_type(value: Any) -> str:
    """Return the Go type name that matches a Python value, for messages and %T."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    return type(value).__name__


def is_int(value: Any) -> bool:
    """Return whether value is an int and not a bool, which Python counts as an int."""
    return isinstance(value, int) and not isinstance(value, bool)


def truth(value: Any) -> bool:
    """Return Go template truth: false, 0, nil and empty strings, lists and maps are false."""
    if value is None:
        return False
    if isinstance(value, (bool, int, float)):
        return bool(value)
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value) > 0
    return True


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _from_utf8(data: bytes) -> str:
    return data.decode("utf-8", "replace")


# --- Go fmt ---------------------------------------------------------------------------


@dataclass
class _Spec:
    """Flags, width and precision of one printf verb."""

    minus: bool = False
    plus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    width: int | None = None
    precision: int | None = None


_QUOTE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                  "\t": "\\t", "\v": "\\v"}


def _sign(negative: bool, spec: _Spec) -> str:
    if negative:
        return "-"
    if spec.plus:
        return "+"
    if spec.space:
        return " "
    return ""


def _pad(text: str, spec: _Spec) -> str:
    if spec.width is None or len(text) >= spec.width:
        return text
    fill = " " * (spec.width - len(text))
    return text + fill if spec.minus else fill + text


def go_quote(text: str, quote: str = '"', ascii_only: bool = False) -> str:
    """Quote text as Go's strconv.Quote does (or QuoteRune, with quote="'")."""
    out = [quote]
    for char in text:
        code = ord(char)
        if char == quote or char == "\\":
            out.append("\\" + char)
        elif char.isprintable() and not (ascii_only and code > 0x7F):
            out.append(char)
        elif char in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append(quote)
    return "".join(out)


def _rune(code: int) -> str:
    """Return the character for a code point, or U+FFFD as Go does for invalid ones."""
    if 0 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
        return chr(code)
    return "\ufffd"


def _format_int(number: int, verb: str, spec: _Spec) -> str:
    if verb == "c":
        return _pad(_rune(number), spec)
    if verb == "q":
        return _pad(go_quote(_rune(number), "'", spec.plus), spec)
    if verb == "U":
        text = f"U+{number:04X}" if number >= 0 else f"U+{number + (1 << 64):04X}"
        if spec.sharp and _rune(number).isprintable() and _rune(number) != "\ufffd":
            text += f" '{_rune(number)}'"
        return _pad(text, spec)

    base_format = {"d": "d", "v": "d", "b": "b", "o": "o", "O": "o", "x": "x", "X": "X"}[verb]
    digits = format(abs(number), base_format)
    signed = number < 0 or spec.plus or spec.space
    if spec.precision is not None:
        digits = "" if spec.precision == 0 and number == 0 else digits
        digits = digits.zfill(spec.precision)
    elif spec.zero and not spec.minus and spec.width is not None:
        digits = digits.zfill(spec.width - signed)

    prefix = ""
    if verb == "O":
        prefix = "0o"
    elif spec.sharp:
        prefix = {"b": "0b", "x": "0x", "X": "0X"}.get(verb, "")
        if verb == "o" and not digits.startswith("0"):
            prefix = "0"
    return _pad(_sign(number < 0, spec) + prefix + digits, spec)


def _float_digits(value: float, significant: int | None) -> tuple[str, int]:
    """Return the decimal digits of abs(value) without trailing zeros, and the position
    of the decimal point: value == 0.DIGITS * 10**point.

    With ``significant`` None the digits are the shortest that read back as value.
    """
    text = repr(abs(value)) if significant is None else format(abs(value), f".{significant - 1}e")
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    stripped = digits.lstrip("0")
    point = len(whole) - (len(digits) - len(stripped)) + int(exponent or 0)
    return stripped.rstrip("0"), point


def _format_g(value: float, precision: int | None, upper: bool) -> str:
    """Format abs(value) like Go's strconv 'g' format (%g, and %v for floats)."""
    digits, point = _float_digits(value, None if precision is None else max(precision, 1))
    count = len(digits)
    if count == 0:
        return "0"
    if precision is None:
        # Go's shortest form switches to an exponent from 1e+06 on, not 1e+21.
        precision, exponent_from = count, 6
    else:
        precision = max(precision, 1)
        exponent_from = count if precision > count >= point else precision

    exponent = point - 1
    if exponent < -4 or exponent >= exponent_from:
        shown = min(precision, count)
        mantissa = digits[0] + ("." + digits[1:shown] if shown > 1 else "")
        sign = "-" if exponent < 0 else "+"
        return f"{mantissa}{'E' if upper else 'e'}{sign}{abs(exponent):02d}"

    if precision > point:
        precision = count
    decimals = max(precision - point, 0)
    whole = digits[:point].ljust(point, "0") if point > 0 else "0"
    fraction = "".join(digits[point + i] if 0 <= point + i < count else "0"
                       for i in range(decimals))
    return whole + ("." + fraction if fraction else "")


def _format_hex_float(value: float, upper: bool) -> str:
    mantissa, _, exponent = abs(value).hex().partition("p")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    power = int(exponent)
    text = f"{mantissa}p{'-' if power < 0 else '+'}{abs(power):02d}"
    return text.upper() if upper else text


def _format_float(value: float, verb: str, spec: _Spec) -> str:
    negative = math.copysign(1.0, value) < 0 and not math.isnan(value)
    sign = _sign(negative, spec)
    if math.isinf(value):
        return _pad(("-" if negative else "+") + "Inf", spec)
    if math.isnan(value):
        return _pad(sign + "NaN", spec)

    if verb in "vgG":
        body = _format_g(value, spec.precision, verb == "G")
    elif verb in "eE":
        precision = 6 if spec.precision is None else spec.precision
        body = format(abs(value), f".{precision}{verb}")
    elif verb in "fF":
        precision = 6 if spec.precision is None else spec.precision
        body = format(abs(value), f".{precision}f")
    else:
        body = _format_hex_float(value, verb == "X")
    if spec.zero and not spec.minus and spec.width is not None:
        body = body.zfill(spec.width - len(sign))
    return _pad(sign + body, spec)


def _format_string(text: str, verb: str, spec: _Spec) -> str:
    if spec.precision is not None and verb in "svq":
        text = text[:spec.precision]
    if verb in "sv":
        return _pad(text, spec)
    if verb == "q":
        if spec.sharp and "`" not in text and all(c == "\t" or c.isprintable() for c in text):
            return _pad(f"`{text}`", spec)
        return _pad(go_quote(text, '"', spec.plus), spec)

    data = _utf8(text)
    if spec.precision is not None:
        data = data[:spec.precision]
    pieces = [f"{byte:02x}" for byte in data]
    prefix = "0x" if spec.sharp else ""
    if spec.space:
        hex_text = " ".join(prefix + piece for piece in pieces)
    else:
        hex_text = prefix + "".join(pieces) if pieces else ""
    return _pad(hex_text.upper() if verb == "X" else hex_text, spec)


def _bad_verb(value: Any, verb: str) -> str:
    if value is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(value)}={format_value(value)})"


def _format_arg(value: Any, verb: str, spec: _Spec) -> str:
    """Format one printf argument as Go's fmt does, including its %!verb(...) errors."""
    if value is None:
        return _pad("<nil>", spec) if verb == "v" else _bad_verb(value, verb)
    if isinstance(value, bool):
        if verb in "tv":
            return _pad("true" if value else "false", spec)
        return _bad_verb(value, verb)
    if isinstance(value, int):
        if verb in "dvboOxXcqU":
            return _format_int(value, verb, spec)
        return _bad_verb(value, verb)
    if isinstance(value, float):
        if verb in "vgGeEfFxX":
            return _format_float(value, verb, spec)
        return _bad_verb(value, verb)
    if isinstance(value, str):
        if verb in "svqxX":
            return _format_string(value, verb, spec)
        return _bad_verb(value, verb)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_format_arg(item, verb, spec) for item in value) + "]"
    if isinstance(value, Mapping):
        pairs = [f"{_format_arg(key, verb, spec)}:{_format_arg(item, verb, spec)}"
                 for key, item in _sorted_items(value)]
        return "map[" + " ".join(pairs) + "]"
    if verb in "sv":
        return _pad(str(value), spec)
    return _bad_verb(value, verb)


def _sorted_items(mapping: Mapping) -> list[tuple[Any, Any]]:
    """Return a map's items in the order Go's fmt prints them: sorted by key."""
    try:
        return sorted(mapping.items(), key=lambda item: item[0])
    except TypeError:
        return sorted(mapping.items(), key=lambda item: format_value(item[0]))


def format_value(value: Any) -> str:
    """Format a value as Go's %v does."""
    if isinstance(value, str):
        return value
    return _format_arg(value, "v", _Spec())


def sprint(args: Iterable[Any]) -> str:
    """Join values like Go's fmt.Sprint: a space only between two non-string operands."""
    parts: list[str] = []
    previous_is_string = True
    for index, value in enumerate(args):
        is_string = isinstance(value, str)
        if index > 0 and not is_string and not previous_is_string:
            parts.append(" ")
        parts.append(format_value(value))
        previous_is_string = is_string
    return "".join(parts)


def sprintln(args: Iterable[Any]) -> str:
    """Join values like Go's fmt.Sprintln: spaces between all operands, then a newline."""
    return " ".join(format_value(value) for value in args) + "\n"


def _read_number(text: str, index: int) -> tuple[int | None, int]:
    start = index
    while index < len(text) and text[index].isdigit() and text[index].isascii():
        index += 1
    return (int(text[start:index]) if index > start else None), index


_FLAGS = {"+": "plus", "-": "minus", "#": "sharp", " ": "space", "0": "zero"}


def _read_spec(template: str, index: int, args: list[Any],
               next_arg: int) -> tuple[_Spec, str, int, int]:
    """Read the flags, width and precision after a '%'.

    Returns the spec, a %!(BADWIDTH) or %!(BADPREC) marker or "", and the positions of
    the verb and of the next argument. A ``*`` width or precision takes an argument.
    """
    spec = _Spec()
    bad = ""
    while index < len(template) and template[index] in _FLAGS:
        setattr(spec, _FLAGS[template[index]], True)
        index += 1

    if template[index:index + 1] == "*":
        index += 1
        width = args[next_arg] if next_arg < len(args) else None
        next_arg += 1
        if is_int(width):
            spec.minus = spec.minus or width < 0
            spec.width = abs(width)
        else:
            bad = "%!(BADWIDTH)"
    else:
        spec.width, index = _read_number(template, index)
    if spec.width is not None and spec.width > _MAX_WIDTH:
        spec.width, bad = None, "%!(BADWIDTH)"

    if template[index:index + 1] != ".":
        return spec, bad, index, next_arg
    index += 1
    if template[index:index + 1] == "*":
        index += 1
        precision = args[next_arg] if next_arg < len(args) else None
        next_arg += 1
        if is_int(precision) and precision >= 0:
            spec.precision = precision
        else:
            bad = "%!(BADPREC)"
    else:
        precision, index = _read_number(template, index)
        spec.precision = precision or 0
    if spec.precision is not None and spec.precision > _MAX_WIDTH:
        spec.precision, bad = None, "%!(BADPREC)"
    return spec, bad, index, next_arg


def sprintf(template: str, args: list[Any]) -> str:
    """Format like Go's fmt.Sprintf, with the same %!verb(...) markers for bad input.

    Supports the flags ``+-# 0``, widths and precisions (also ``*``) and the verbs
    v s q d b o O x X c U e E f F g G t T and %%. Explicit argument indexes
    (``%[1]d``) are not supported.
    """
    out: list[str] = []
    next_arg = 0
    index = 0
    while index < len(template):
        percent = template.find("%", index)
        if percent < 0:
            out.append(template[index:])
            break
        out.append(template[index:percent])
        spec, bad, index, next_arg = _read_spec(template, percent + 1, args, next_arg)
        out.append(bad)

        if index >= len(template):
            out.append("%!(NOVERB)")
            break
        verb = template[index]
        index += 1
        if verb == "%":
            out.append("%")
        elif next_arg >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            value = args[next_arg]
            next_arg += 1
            if verb == "T":
                out.append(_pad(go_type(value), spec))
            elif verb in "vsqdboOxXcUeEfFgGt":
                out.append(_format_arg(value, verb, spec))
            else:
                out.append(_bad_verb(value, verb))

    if next_arg < len(args):
        extra = ", ".join(f"{go_type(v)}={format_value(v)}" if v is not None else "<nil>"
                          for v in args[next_arg:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


# --- Time ---------------------------------------------------------------------------


def as_utc(moment: datetime.datetime) -> datetime.datetime:
    """Return moment in UTC; a naive datetime is read as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def _layout_chunk(layout: str, i: int) -> tuple[str, int] | None:
    """Match one element of a Go reference-time layout at layout[i:].

    Returns the element's name and length, or None where layout[i] is literal text.
    The names follow Go's time package: 2006, 01, Jan, Monday, 15, 03, PM, Z07:00 ...
    """
    rest = layout[i:]
    char = rest[0]

    def lowercase_after(length: int) -> bool:
        return rest[length:length + 1].islower() and rest[length:length + 1].isascii()

    if char == "J" and rest.startswith("Jan"):
        if rest.startswith("January"):
            return "January", 7
        return None if lowercase_after(3) else ("Jan", 3)
    if char == "M":
        if rest.startswith("Monday"):
            return "Monday", 6
        if rest.startswith("Mon") and not lowercase_after(3):
            return "Mon", 3
        if rest.startswith("MST"):
            return "MST", 3
        return None
    if char == "0":
        if rest[1:2] and rest[1] in "123456":
            return rest[:2], 2
        if rest.startswith("002"):
            return "002", 3
        return None
    if char == "1":
        return ("15", 2) if rest.startswith("15") else ("1", 1)
    if char == "2":
        return ("2006", 4) if rest.startswith("2006") else ("2", 1)
    if char == "_":
        if rest.startswith("_2") and not rest.startswith("_2006"):
            return "_2", 2
        if rest.startswith("__2"):
            return "__2", 3
        return None
    if char in "345":
        return char, 1
    if rest.startswith(("PM", "pm")):
        return rest[:2], 2
    if char in "-Z":
        for zone in ("070000", "07:00:00", "0700", "07:00", "07"):
            if rest.startswith(char + zone):
                return char + zone, len(zone) + 1
        return None
    if char in ".," and rest[1:2] and rest[1] in "09":
        end = 1
        while end < len(rest) and rest[end] == rest[1]:
            end += 1
        # A run of 0s or 9s is a fraction of a second only when no other digit follows.
        if not rest[end:end + 1].isdigit():
            return char + rest[1:end], end
    return None


def _layout_value(name: str, moment: datetime.datetime) -> str:
    hour12 = moment.hour % 12 or 12
    yearday = moment.timetuple().tm_yday
    if name[0] in ".,":
        nanoseconds = f"{moment.microsecond * 1000:09d}"[:min(len(name) - 1, 9)]
        if name[1] == "9":
            nanoseconds = nanoseconds.rstrip("0")
            return name[0] + nanoseconds if nanoseconds else ""
        return name[0] + nanoseconds
    if name[0] == "Z":
        return "Z"
    if name[0] == "-":
        return "+" + name[1:].replace("7", "0")
    return {
        "January": _MONTHS[moment.month - 1], "Jan": _MONTHS[moment.month - 1][:3],
        "1": str(moment.month), "01": f"{moment.month:02d}",
        "Monday": _WEEKDAYS[moment.weekday()], "Mon": _WEEKDAYS[moment.weekday()][:3],
        "2": str(moment.day), "_2": f"{moment.day:2d}", "02": f"{moment.day:02d}",
        "__2": f"{yearday:3d}", "002": f"{yearday:03d}",
        "15": f"{moment.hour:02d}", "3": str(hour12), "03": f"{hour12:02d}",
        "4": str(moment.minute), "04": f"{moment.minute:02d}",
        "5": str(moment.second), "05": f"{moment.second:02d}",
        "2006": f"{moment.year:04d}", "06": f"{moment.year % 100:02d}",
        "PM": "PM" if moment.hour >= 12 else "AM", "pm": "pm" if moment.hour >= 12 else "am",
        "MST": "UTC",
    }[name]


def format_go_time(moment: datetime.datetime, layout: str) -> str:
    """Format a UTC time with a Go layout such as ``2006-01-02T15:04:05Z07:00``."""
    out: list[str] = []
    index = 0
    while index < len(layout):
        chunk = _layout_chunk(layout, index)
        if chunk is None:
            out.append(layout[index])
            index += 1
            continue
        name, length = chunk
        out.append(_layout_value(name, moment))
        index += length
    return "".join(out)


def _strftime_value(directive: str, moment: datetime.datetime) -> str | None:
    weekday = moment.isoweekday() % 7  # Sunday is 0
    yearday = moment.timetuple().tm_yday
    iso_year, iso_week, iso_weekday = moment.isocalendar()
    hour12 = moment.hour % 12 or 12
    composite = {"c": "%a %b %e %H:%M:%S %Y", "D": "%m/%d/%y", "x": "%m/%d/%y",
                 "F": "%Y-%m-%d", "T": "%H:%M:%S", "X": "%H:%M:%S", "R": "%H:%M",
                 "r": "%I:%M:%S %p"}
    if directive in composite:
        return format_strftime(moment, composite[directive])
    values = {
        "a": _WEEKDAYS[moment.weekday()][:3], "A": _WEEKDAYS[moment.weekday()],
        "b": _MONTHS[moment.month - 1][:3], "h": _MONTHS[moment.month - 1][:3],
        "B": _MONTHS[moment.month - 1], "C": f"{moment.year // 100:02d}",
        "d": f"{moment.day:02d}", "e": f"{moment.day:2d}",
        "f": f"{moment.microsecond:06d}", "L": f"{moment.microsecond // 1000:03d}",
        "G": f"{iso_year:04d}", "g": f"{iso_year % 100:02d}", "V": f"{iso_week:02d}",
        "H": f"{moment.hour:02d}", "k": f"{moment.hour:2d}",
        "I": f"{hour12:02d}", "l": f"{hour12:2d}", "j": f"{yearday:03d}",
        "m": f"{moment.month:02d}", "M": f"{moment.minute:02d}", "S": f"{moment.second:02d}",
        "p": "PM" if moment.hour >= 12 else "AM", "P": "pm" if moment.hour >= 12 else "am",
        "s": str(calendar.timegm(moment.utctimetuple())),
        "u": str(iso_weekday), "w": str(weekday),
        "U": f"{(yearday + 6 - weekday) // 7:02d}",
        "W": f"{(yearday + 6 - (weekday + 6) % 7) // 7:02d}",
        "y": f"{moment.year % 100:02d}", "Y": str(moment.year),
        "z": "+0000", "Z": "UTC", "n": "\n", "t": "\t", "%": "%",
    }
    return values.get(directive)


def format_strftime(moment: datetime.datetime, template: str) -> str:
    """Format a UTC time with C strftime directives in the POSIX locale.

    Python's time.strftime is not used because its output depends on the platform and
    the process locale.
    """
    out: list[str] = []
    index = 0
    while index < len(template):
        percent = template.find("%", index)
        if percent < 0:
            out.append(template[index:])
            break
        out.append(template[index:percent])
        directive = template[percent + 1:percent + 2]
        if not directive:
            raise InterpolationError(
                f"strftime format {template!r} ends with a lone '%': write %% for a percent sign")
        value = _strftime_value(directive, moment)
        if value is None:
            raise InterpolationError(f"strftime directive '%{directive}' is not supported "
                                     f"in {template!r}; write %% for a percent sign")
        out.append(value)
        index = percent + 2
    return "".join(out)


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


# --- Function table -----------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    """A template function: its implementation and the kinds of its parameters.

    A parameter kind is "string", "int" or "any". ``variadic`` is the kind of further
    arguments, or None when the function takes exactly ``params``. Functions with
    ``needs_context`` receive the Context as their first argument. ``call`` is None for
    ``and`` and ``or``, which the executor evaluates lazily.
    """

    name: str
    call: Callable[..., Any] | None
    params: tuple[str, ...] = ()
    variadic: str | None = None
    needs_context: bool = False


FUNCTIONS: dict[str, Function] = {}


def _function(name: str, params: tuple[str, ...] = (), variadic: str | None = None,
              needs_context: bool = False) -> Callable[[Callable], Callable]:
    def register(call: Callable) -> Callable:
        FUNCTIONS[name] = Function(name, call, params, variadic, needs_context)
        return call
    return register


FUNCTIONS["and"] = Function("and", None, ("any",), "any")
FUNCTIONS["or"] = Function("or", None, ("any",), "any")

#: Functions that Packer defines but nbdocker rejects when it parses a template.
REJECTED_FUNCTIONS = {
    "sed": "function 'sed' is deprecated and always fails; use replace or replace_all instead",
    "clean_resource_name": "function 'clean_resource_name' is not defined for the docker "
                           "builder; Packer registers it only for some cloud builders. "
                           "Use lower and replace_all instead",
    "call": "function 'call' is not supported: templates have no function values to call",
}
for _name in ("consul_key", "vault", "aws_secretsmanager", "aws_secretsmanager_raw"):
    REJECTED_FUNCTIONS[_name] = (
        f"function {_name!r} is not supported: nbdocker reads no secret stores. "
        "Pass the value with -var, or read it from the environment with env in a "
        "variable's default")


def check_function(name: str) -> str | None:
    """Return why a function name cannot be used in a template, or None if it can."""
    if name in FUNCTIONS:
        return None
    if name in REJECTED_FUNCTIONS:
        return REJECTED_FUNCTIONS[name]
    return f"function {name!r} not defined{suggest(name, FUNCTIONS)}"


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


@_function("build_name", needs_context=True)
def _build_name(ctx: Context) -> str:
    if not ctx.build_name:
        raise InterpolationError("build_name not available here: it works only in "
                                 "builders, provisioners and post-processors")
    return ctx.build_name


@_function("build_type", needs_context=True)
def _build_type(ctx: Context) -> str:
    if not ctx.build_type:
        raise InterpolationError("build_type not available here: it works only in "
                                 "builders, provisioners and post-processors")
    return ctx.build_type


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
        raise InterpolationError(join_sentences(
            f"build data {key!r} is not defined{suggest(key, BUILD_DATA_KEYS)}",
            f"Declared keys: {', '.join(BUILD_DATA_KEYS)}"))
    if key in data:
        return data[key]
    if key in BUILD_DATA_KEYS:
        raise InterpolationError(f"build data {key!r} is not available in this step. "
                                 f"Available keys: {_list_names(data)}")
    raise InterpolationError(join_sentences(
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


# Go's text/template built-ins.


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
        raise InterpolationError(join_sentences(
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

"""Go values in Python: Go type names, template truth, and fmt's Sprint, Sprintf and %v."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping


#: Go's fmt rejects widths and precisions above this value (``%!(BADWIDTH)``).
_MAX_WIDTH = 1_000_000


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

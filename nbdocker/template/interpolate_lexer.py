"""Lexer for Go template text: plain text, action tokens, trim markers, comments and literals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, NamedTuple

from .interpolate_error import InterpolationError
from .interpolate_nodes import Text


#: Characters that Go's template lexer treats as spaces, and that trim markers remove.
SPACE_CHARS = " \t\r\n"


_KEYWORDS = {"if", "else", "end", "with", "range", "define", "template", "block",
             "break", "continue"}


_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

_DIGITS = r"[0-9](?:_?[0-9])*"
_HEX_DIGITS = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_INT_RE = re.compile(
    r"[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+"
    r"|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)\Z")
_DEC_FLOAT_RE = re.compile(
    rf"[+-]?(?:{_DIGITS}\.(?:{_DIGITS})?(?:[eE][+-]?{_DIGITS})?"
    rf"|{_DIGITS}[eE][+-]?{_DIGITS}|\.{_DIGITS}(?:[eE][+-]?{_DIGITS})?)\Z")
_HEX_FLOAT_RE = re.compile(
    rf"[+-]?0[xX]_?(?:{_HEX_DIGITS}(?:\.(?:{_HEX_DIGITS})?)?|\.{_HEX_DIGITS})"
    rf"[pP][+-]?{_DIGITS}\Z")

_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                   "v": "\v", "\\": "\\"}


# --- Tokens -------------------------------------------------------------------------

SPACE, IDENT, FIELD, VAR, DOT, STRING, NUMBER, CHAR_CONST, BOOL, NIL, KEYWORD, \
    PIPE, LPAREN, RPAREN, DECLARE, ASSIGN, CHAR, END = range(18)

_TOKEN_NAMES = {SPACE: "space", PIPE: "'|'", LPAREN: "'('", RPAREN: "')'",
                DECLARE: "':='", ASSIGN: "'='", END: "'}}'"}


class Token(NamedTuple):
    """One token inside an action, with the decoded value of a literal in ``value``."""

    kind: int
    text: str
    value: object = None

    def describe(self) -> str:
        """Name the token for an error message."""
        return _TOKEN_NAMES.get(self.kind, repr(self.text))


# --- Lexer --------------------------------------------------------------------------


@dataclass(frozen=True)
class _ActionItem:
    tokens: tuple[Token, ...]
    offset: int


def _is_alphanumeric(char: str) -> bool:
    return char == "_" or char.isalpha() or char.isdecimal()


def _lex(text: str) -> list[Text | _ActionItem]:
    """Split text into plain text and the tokens of each action, applying trim markers."""
    items: list[Text | _ActionItem] = []
    position = 0
    trim_next_text = False
    while True:
        start = text.find("{{", position)
        segment = text[position:] if start < 0 else text[position:start]
        if trim_next_text:
            segment = segment.lstrip(SPACE_CHARS)
        inner = start + 2
        left_trim = (start >= 0 and text[inner:inner + 1] == "-"
                     and _is_space(text[inner + 1:inner + 2]))
        if left_trim:
            segment = segment.rstrip(SPACE_CHARS)
            inner += 2
        if segment:
            items.append(Text(segment))
        if start < 0:
            return items

        if text.startswith("/*", inner):
            position, trim_next_text = _skip_comment(text, inner, start)
            continue
        tokens, position, trim_next_text = _lex_action(text, inner, start)
        items.append(_ActionItem(tokens, start))


def _at_right_delim(text: str, index: int) -> tuple[bool, bool]:
    """Return whether text[index:] starts with "}}" or " -}}", and whether it was " -}}"."""
    if text.startswith("}}", index):
        return True, False
    if text.startswith("-}}", index + 1) and text[index] in SPACE_CHARS:
        return True, True
    return False, False


def _skip_comment(text: str, index: int, start: int) -> tuple[int, bool]:
    close = text.find("*/", index + 2)
    if close < 0:
        raise InterpolationError("unclosed comment: '/*' has no matching '*/'", start)
    at_delim, trim = _at_right_delim(text, close + 2)
    if not at_delim:
        raise InterpolationError(
            "comment ends before closing delimiter: put '}}' right after '*/'", start)
    return close + (6 if trim else 4), trim


def _lex_action(text: str, index: int, start: int) -> tuple[tuple[Token, ...], int, bool]:
    """Tokenize one action from text[index:].

    Returns the tokens, the position after the closing delimiter and whether that
    delimiter had a trim marker.
    """
    tokens: list[Token] = []
    depth = 0
    length = len(text)

    def fail(message: str) -> InterpolationError:
        return InterpolationError(message, start)

    while True:
        if index >= length:
            raise fail("unclosed action: '{{' has no matching '}}'")
        at_delim, trim = _at_right_delim(text, index)
        if at_delim:
            if depth > 0:
                raise fail("unclosed left parenthesis")
            tokens.append(Token(END, "}}"))
            return tuple(tokens), index + (4 if trim else 2), trim

        char = text[index]
        begin = index
        if char in SPACE_CHARS:
            while index < length and text[index] in SPACE_CHARS:
                index += 1
            # A space before "-}}" belongs to the trim marker, not to this run.
            if text.startswith("-}}", index):
                index -= 1
            if index > begin:
                tokens.append(Token(SPACE, text[begin:index]))
            continue
        if char == ":":
            if not text.startswith(":=", index):
                raise fail("expected ':=' after ':'")
            tokens.append(Token(DECLARE, ":="))
            index += 2
        elif char in "=|(),":
            kind = {"=": ASSIGN, "|": PIPE, "(": LPAREN, ")": RPAREN, ",": CHAR}[char]
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                raise fail("unexpected right parenthesis ')'")
            tokens.append(Token(kind, char))
            index += 1
        elif char == '"':
            index = _lex_quoted(text, index, tokens, fail)
        elif char == "`":
            close = text.find("`", index + 1)
            if close < 0:
                raise fail("unterminated raw string: '`' has no closing '`'")
            # Go drops carriage returns from raw strings.
            value = text[index + 1:close].replace("\r", "")
            tokens.append(Token(STRING, text[index:close + 1], value))
            index = close + 1
        elif char == "'":
            index = _lex_char(text, index, tokens, fail)
        elif char == "$":
            index = _lex_word(text, index + 1)
            _check_terminator(text, begin, index, fail)
            tokens.append(Token(VAR, text[begin:index]))
        elif char == "." and not _is_digit(text[index + 1:index + 2]):
            index = _lex_word(text, index + 1)
            _check_terminator(text, begin, index, fail)
            word = text[begin:index]
            tokens.append(Token(DOT, ".") if word == "." else Token(FIELD, word, word[1:]))
        elif char in "+-." or _is_digit(char):
            index = _lex_number(text, index, tokens, fail)
        elif _is_alphanumeric(char):
            index = _lex_word(text, index)
            _check_terminator(text, begin, index, fail)
            word = text[begin:index]
            if word in _KEYWORDS:
                tokens.append(Token(KEYWORD, word))
            elif word in ("true", "false"):
                tokens.append(Token(BOOL, word, word == "true"))
            elif word == "nil":
                tokens.append(Token(NIL, word))
            else:
                tokens.append(Token(IDENT, word))
        elif char.isascii() and char.isprintable():
            tokens.append(Token(CHAR, char))
            index += 1
        else:
            raise fail(f"unrecognized character in action: {char!r}")


_ASCII_WORD = re.compile(r"[A-Za-z0-9_]*")


def _lex_word(text: str, index: int) -> int:
    index = _ASCII_WORD.match(text, index).end()
    while index < len(text) and _is_alphanumeric(text[index]):
        index = _ASCII_WORD.match(text, index + 1).end()
    return index


def _is_digit(char: str) -> bool:
    return char != "" and char in "0123456789"


def _is_space(char: str) -> bool:
    return char != "" and char in SPACE_CHARS


def _check_terminator(text: str, begin: int, index: int,
                      fail: Callable[[str], Exception]) -> None:
    """Reject a word glued to the next character, as in ``$x+2`` or ``.Name"x"``."""
    if index >= len(text) or text[index] in SPACE_CHARS or text[index] in ".,|:()":
        return
    if text.startswith("}}", index):
        return
    raise fail(f"bad character {text[index]!r} after {text[begin:index]!r}: "
               "separate the parts with a space")


def _find_close_quote(text: str, index: int, unterminated: str,
                      fail: Callable[[str], Exception]) -> int:
    """Return the index of the quote that closes the one at text[index], skipping escapes.

    Raises ``unterminated`` when a newline or the end of the text comes first.
    """
    quote = text[index]
    index += 1
    while True:
        if index >= len(text) or text[index] == "\n":
            raise fail(unterminated)
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == quote:
            return index
        index += 1


def _lex_quoted(text: str, index: int, tokens: list[Token],
                fail: Callable[[str], Exception]) -> int:
    begin = index
    index = _find_close_quote(
        text, index, 'unterminated quoted string: \'"\' has no closing \'"\'', fail)
    raw = text[begin:index + 1]
    tokens.append(Token(STRING, raw, _unquote(raw[1:-1], '"', fail)))
    return index + 1


def _lex_char(text: str, index: int, tokens: list[Token],
              fail: Callable[[str], Exception]) -> int:
    begin = index
    index = _find_close_quote(text, index, "unterminated character constant", fail)
    raw = text[begin:index + 1]
    value = _unquote(raw[1:-1], "'", fail)
    if len(value) != 1:
        raise fail(f"invalid character constant {raw}: it must hold exactly one character")
    tokens.append(Token(CHAR_CONST, raw, ord(value)))
    return index + 1


def _unquote(body: str, quote: str, fail: Callable[[str], Exception]) -> str:
    """Decode Go escape sequences in the body of a quoted string or character constant.

    Go strings are bytes, so ``\\x`` and octal escapes produce bytes. They are collected
    and decoded as UTF-8, with invalid sequences replaced by U+FFFD.
    """
    if "\\" not in body:
        return body
    out = bytearray()
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out += char.encode("utf-8", "surrogatepass")
            index += 1
            continue
        escape = body[index + 1:index + 2]
        if escape in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[escape].encode()
            index += 2
        elif escape == quote:
            out += quote.encode()
            index += 2
        elif escape in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[escape]
            digits = body[index + 2:index + 2 + width]
            if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise fail(f"invalid escape '\\{escape}{digits}': expected {width} hex digits")
            number = int(digits, 16)
            if escape == "x":
                out.append(number)
            elif number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
                raise fail(f"invalid escape '\\{escape}{digits}': not a Unicode code point")
            else:
                out += chr(number).encode()
            index += 2 + width
        elif escape and escape in "01234567":
            digits = body[index + 1:index + 4]
            if len(digits) != 3 or not all(d in "01234567" for d in digits) or int(digits, 8) > 255:
                raise fail(f"invalid octal escape '\\{digits}': expected 3 octal digits up to 377")
            out.append(int(digits, 8))
            index += 4
        else:
            raise fail(f"invalid escape '\\{escape}' in {quote}{body}{quote}: "
                       "write \\\\ for a backslash")
    return out.decode("utf-8", "replace")


def _lex_number(text: str, index: int, tokens: list[Token],
                fail: Callable[[str], Exception]) -> int:
    """Scan a number the way Go's lexer does; ``parse_number`` checks its syntax."""
    begin = index
    if text[index] in "+-":
        index += 1
    digits, exponent = "0123456789_", "eE"
    if text.startswith(("0x", "0X"), index):
        digits, exponent, index = "0123456789abcdefABCDEF_", "pP", index + 2
    elif text.startswith(("0o", "0O", "0b", "0B"), index):
        digits, exponent, index = "01234567_", "", index + 2
    index = _skip(text, index, digits)
    if text[index:index + 1] == ".":
        index = _skip(text, index + 1, digits)
    if text[index:index + 1] and text[index] in exponent:
        index += 1
        if text[index:index + 1] and text[index] in "+-":
            index += 1
        index = _skip(text, index, "0123456789_")
    if text[index:index + 1] == "i":
        index += 1
    if index < len(text) and (_is_alphanumeric(text[index]) or text[index] in "+-"):
        raise fail(f"bad number syntax: {text[begin:index + 1]!r}")
    word = text[begin:index]
    value, int_value = parse_number(word, fail)
    tokens.append(Token(NUMBER, word, (value, int_value)))
    return index


def _skip(text: str, index: int, allowed: str) -> int:
    while index < len(text) and text[index] in allowed:
        index += 1
    return index


def parse_number(word: str, fail: Callable[[str], Exception]) -> tuple[int | float, int | None]:
    """Return a number constant's value and, when it is integral, its int value.

    An integer literal is an int, and a literal with a fraction or exponent is a float.
    Go treats untyped constants the same way when it passes them as ``any``.
    """
    if word.endswith("i"):
        raise fail(f"complex number {word!r} is not supported")
    if _INT_RE.match(word):
        value = _int_literal(word)
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise fail(f"integer {word!r} is out of range: integers are 64-bit")
        return value, value
    if _DEC_FLOAT_RE.match(word) or _HEX_FLOAT_RE.match(word):
        try:
            number = (float.fromhex(word.replace("_", "")) if "x" in word.lower()
                      else float(word.replace("_", "")))
        except OverflowError:
            number = float("inf")
        if number in (float("inf"), float("-inf")):
            raise fail(f"number {word!r} is out of range for float64")
        integral = int(number) if number.is_integer() and abs(number) < 2.0 ** 63 else None
        return number, integral
    raise fail(f"bad number syntax: {word!r}")


def _int_literal(word: str) -> int:
    sign = -1 if word.startswith("-") else 1
    body = word.lstrip("+-").replace("_", "")
    prefix = body[:2].lower()
    if prefix in ("0x", "0b", "0o"):
        return sign * int(body[2:], {"0x": 16, "0b": 2, "0o": 8}[prefix])
    if len(body) > 1 and body[0] == "0":
        return sign * int(body, 8)
    return sign * int(body)

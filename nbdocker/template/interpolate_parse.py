"""Lexer and parser for the Go text/template syntax that Packer's JSON templates use.

``parse_template`` turns template text into a tree of nodes that ``interpolate.py``
executes. It follows Go's ``text/template/parse`` package: the same tokens, trim markers,
comments, string escapes and number syntax, and the same parse-time checks (unknown
functions, undefined variables). Only ``if``, ``else`` and ``with`` are supported as
control structures, because Packer templates rarely use anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Union

#: Characters that Go's template lexer treats as spaces, and that trim markers remove.
SPACE_CHARS = " \t\r\n"

#: Maximum nesting depth of parentheses and if/with blocks, counted together.
MAX_DEPTH = 50

_KEYWORDS = {"if", "else", "end", "with", "range", "define", "template", "block",
             "break", "continue"}
_UNSUPPORTED_KEYWORDS = _KEYWORDS - {"if", "else", "end", "with"}
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


class InterpolationError(Exception):
    """A template string that cannot be parsed or rendered.

    ``offset`` is the 0-based character offset, in the template text, of the ``{{`` that
    opens the failing action, or -1 when no single action is to blame.
    """

    def __init__(self, message: str, offset: int = -1):
        super().__init__(message)
        self.message = message
        self.offset = offset

    def __str__(self) -> str:
        return self.message


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


# --- Nodes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Literal:
    """A string, bool or number constant; ``int_value`` is set when it is integral."""

    value: object
    text: str
    int_value: int | None = None


@dataclass(frozen=True)
class Nil:
    text: str = "nil"


@dataclass(frozen=True)
class Dot:
    text: str = "."


@dataclass(frozen=True)
class Field:
    """``.A.B``: fields read from dot, in order."""

    names: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join("." + name for name in self.names)


@dataclass(frozen=True)
class Variable:
    """``$x.A.B``: a variable and the fields read from its value."""

    name: str
    names: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return self.name + "".join("." + name for name in self.names)


@dataclass(frozen=True)
class Identifier:
    """A function name."""

    name: str

    @property
    def text(self) -> str:
        return self.name


@dataclass(frozen=True)
class Chain:
    """``(pipeline).A.B`` or ``func.A``: fields read from a computed value."""

    node: "Operand"
    names: tuple[str, ...]

    @property
    def text(self) -> str:
        return self.node.text + "".join("." + name for name in self.names)


@dataclass(frozen=True)
class Command:
    """One stage of a pipeline: an operand, or a function and its arguments."""

    args: tuple["Operand", ...]


@dataclass(frozen=True)
class Pipeline:
    """``$x := a | f b``: commands whose output feeds the last argument of the next."""

    commands: tuple[Command, ...]
    declare: str | None = None
    is_assign: bool = False
    text: str = "(...)"


@dataclass(frozen=True)
class Action:
    """``{{ pipeline }}``: prints the pipeline's value unless it declares a variable."""

    pipeline: Pipeline
    offset: int


@dataclass(frozen=True)
class Control:
    """``{{if}}`` or ``{{with}}`` with its body and optional else branch."""

    kind: str
    pipeline: Pipeline
    body: tuple["Node", ...]
    else_body: tuple["Node", ...]
    offset: int


Operand = Union[Literal, Nil, Dot, Field, Variable, Identifier, Chain, Pipeline]
Node = Union[Text, Action, Control]


@dataclass(frozen=True)
class Parsed:
    """A syntax-checked template and the names it uses.

    ``functions`` contains the names of the functions called. ``fields`` contains the
    first name of each dot field read from the template data, so ``{{.Path}}`` gives
    ``Path``. Fields read inside ``with`` are left out because dot is the with value
    there. ``user_vars`` and ``build_keys`` contain the literal arguments of ``user``
    and ``build``.
    """

    text: str
    nodes: tuple[Node, ...] = field(repr=False, compare=False)
    functions: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()
    user_vars: frozenset[str] = frozenset()
    build_keys: frozenset[str] = frozenset()


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


def _lex_quoted(text: str, index: int, tokens: list[Token],
                fail: Callable[[str], Exception]) -> int:
    begin = index
    index += 1
    while True:
        if index >= len(text) or text[index] == "\n":
            raise fail('unterminated quoted string: \'"\' has no closing \'"\'')
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == '"':
            break
        index += 1
    raw = text[begin:index + 1]
    tokens.append(Token(STRING, raw, _unquote(raw[1:-1], '"', fail)))
    return index + 1


def _lex_char(text: str, index: int, tokens: list[Token],
              fail: Callable[[str], Exception]) -> int:
    begin = index
    index += 1
    while True:
        if index >= len(text) or text[index] == "\n":
            raise fail("unterminated character constant")
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == "'":
            break
        index += 1
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


# --- Parser -------------------------------------------------------------------------


class _Cursor:
    """Reads the tokens of one action."""

    def __init__(self, item: _ActionItem):
        self.tokens = item.tokens
        self.offset = item.offset
        self.index = 0

    def next(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != END:
            self.index += 1
        return token

    def peek(self) -> Token:
        return self.tokens[self.index]

    def skip_spaces(self) -> None:
        while self.tokens[self.index].kind == SPACE:
            self.index += 1

    def next_non_space(self) -> Token:
        self.skip_spaces()
        return self.next()

    def peek_non_space(self) -> Token:
        self.skip_spaces()
        return self.peek()

    def text(self, start: int, stop: int) -> str:
        """Return the source text of tokens[start:stop]."""
        return "".join(token.text for token in self.tokens[start:stop]).strip()


#: Returns an error message for a function name that cannot be used, or None.
FunctionCheck = Callable[[str], "str | None"]


class _Parser:
    """Builds the node tree from lexed items and records the names the text uses."""

    def __init__(self, items: list[Text | _ActionItem], check_function: FunctionCheck):
        self.items = items
        self.index = 0
        self.check_function = check_function
        self.variables: list[str] = ["$"]
        self.depth = 0
        self.with_depth = 0
        self.functions: set[str] = set()
        self.fields: set[str] = set()
        self.user_vars: set[str] = set()
        self.build_keys: set[str] = set()
        self.offset = -1

    def fail(self, message: str) -> InterpolationError:
        return InterpolationError(message, self.offset)

    # Lists and control structures

    def parse_list(self) -> tuple[list[Node], str | None, _Cursor | None]:
        """Parse nodes until ``{{else}}``, ``{{end}}`` or the end of the text."""
        nodes: list[Node] = []
        while self.index < len(self.items):
            item = self.items[self.index]
            self.index += 1
            if isinstance(item, Text):
                nodes.append(item)
                continue

            self.offset = item.offset
            cursor = _Cursor(item)
            token = cursor.next_non_space()
            if token.kind == KEYWORD:
                if token.text in ("else", "end"):
                    return nodes, token.text, cursor
                if token.text in _UNSUPPORTED_KEYWORDS:
                    raise self.fail(f"{{{{{token.text}}}}} is not supported in Packer templates; "
                                    "only if, else, with and end are")
                nodes.append(self.parse_control(token.text, cursor))
                continue
            cursor.index = 0
            nodes.append(Action(self.parse_pipeline(cursor, "command", END), item.offset))
        return nodes, None, None

    def parse_control(self, kind: str, cursor: _Cursor) -> Control:
        offset = cursor.offset
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"if/with blocks nested more than {MAX_DEPTH} levels deep")
        scope = len(self.variables)
        pipeline = self.parse_pipeline(cursor, kind, END)
        body_scope = len(self.variables)

        if kind == "with":
            self.with_depth += 1
        body, terminator, end_cursor = self.parse_list()
        if kind == "with":
            self.with_depth -= 1
        del self.variables[body_scope:]
        if terminator is None:
            self.offset = offset
            raise self.fail(f"{{{{{kind}}}}} has no matching {{{{end}}}}")

        else_body: tuple[Node, ...] = ()
        if terminator == "else":
            token = end_cursor.peek_non_space()
            if token.kind == KEYWORD and token.text == kind:
                # "{{else if x}}" is "{{else}}{{if x}}...{{end}}" sharing the final {{end}}.
                end_cursor.next_non_space()
                else_body = (self.parse_control(kind, end_cursor),)
            else:
                self.expect_end(end_cursor, "else")
                nodes, terminator, end_cursor = self.parse_list()
                if terminator != "end":
                    self.offset = offset
                    raise self.fail(f"{{{{{kind}}}}} ... {{{{else}}}} has no matching {{{{end}}}}")
                self.expect_end(end_cursor, "end")
                else_body = tuple(nodes)
        else:
            self.expect_end(end_cursor, "end")

        del self.variables[scope:]
        self.depth -= 1
        return Control(kind, pipeline, tuple(body), else_body, offset)

    def expect_end(self, cursor: _Cursor, keyword: str) -> None:
        token = cursor.next_non_space()
        if token.kind != END:
            raise self.fail(f"unexpected {token.describe()} in {{{{{keyword}}}}}")

    # Pipelines and commands

    def parse_pipeline(self, cursor: _Cursor, context: str, end: int) -> Pipeline:
        start = cursor.index
        declare, is_assign = self.parse_declaration(cursor)

        commands: list[Command] = []
        after_pipe = False
        while True:
            token = cursor.next_non_space()
            if token.kind == end:
                break
            if token.kind not in (IDENT, DOT, FIELD, VAR, STRING, NUMBER, CHAR_CONST, BOOL,
                                  NIL, LPAREN):
                raise self.fail(f"unexpected {token.describe()} in {context}")
            cursor.index -= 1
            command, after_pipe = self.parse_command(cursor)
            commands.append(command)
            if not after_pipe:
                token = cursor.next_non_space()
                if token.kind != end:
                    raise self.fail(f"unexpected {token.describe()} in {context}")
                break
        if after_pipe:
            raise self.fail("missing command after '|'")
        if not commands:
            raise self.fail(f"missing value for {context}")

        self.check_commands(commands)
        if declare is not None and not is_assign:
            self.variables.append(declare)
        if end == RPAREN:
            return Pipeline(tuple(commands), declare, is_assign,
                            f"({cursor.text(start, cursor.index - 1)})")
        return Pipeline(tuple(commands), declare, is_assign, cursor.text(start, cursor.index))

    def parse_declaration(self, cursor: _Cursor) -> tuple[str | None, bool]:
        """Consume ``$x :=`` or ``$x =`` at the start of a pipeline, if present."""
        token = cursor.peek_non_space()
        if token.kind != VAR:
            return None, False
        start = cursor.index
        cursor.next()
        following = cursor.peek_non_space()
        if following.kind in (DECLARE, ASSIGN):
            cursor.next()
            if following.kind == ASSIGN and token.text not in self.variables:
                raise self.fail(f"undefined variable {token.text!r}: declare it with ':='")
            return token.text, following.kind == ASSIGN
        if following.kind == CHAR and following.text == ",":
            raise self.fail("declaring two variables is only valid in {{range}}, "
                            "which is not supported")
        cursor.index = start
        return None, False

    def parse_command(self, cursor: _Cursor) -> tuple[Command, bool]:
        """Parse one command; return it and whether a '|' followed it."""
        args: list[Operand] = []
        while True:
            cursor.skip_spaces()
            operand = self.parse_operand(cursor)
            if operand is not None:
                args.append(operand)
            token = cursor.next()
            if token.kind == SPACE:
                continue
            if token.kind in (END, RPAREN):
                if token.kind == RPAREN:
                    cursor.index -= 1  # leave ')' for the enclosing pipeline
                return Command(tuple(args)), False
            if token.kind == PIPE:
                return Command(tuple(args)), True
            # parse_pipeline starts a command only at an operand, so args is not empty.
            raise self.fail(f"unexpected {token.describe()} after {args[-1].text!r}: "
                            "separate arguments with spaces")

    def check_commands(self, commands: list[Command]) -> None:
        """Reject commands that can never run, and record user/build names."""
        for stage, command in enumerate(commands, start=1):
            first = command.args[0]
            if isinstance(first, Identifier):
                self.record_literal_argument(command, commands[stage - 2] if stage > 1 else None)
                continue
            if isinstance(first, Nil):
                raise self.fail("nil is not a command")
            if stage > 1:
                raise self.fail(f"cannot pipe a value into {first.text!r}: "
                                f"stage {stage} of a pipeline must be a function")
            if len(command.args) > 1:
                raise self.fail(f"{first.text!r} is not a function, so it cannot take "
                                f"the argument {command.args[1].text!r}")

    def record_literal_argument(self, command: Command, previous: Command | None) -> None:
        name = command.args[0].name
        if name not in ("user", "build"):
            return
        argument = None
        if len(command.args) == 2:
            argument = command.args[1]
        elif len(command.args) == 1 and previous is not None and len(previous.args) == 1:
            argument = previous.args[0]
        if isinstance(argument, Literal) and isinstance(argument.value, str):
            (self.user_vars if name == "user" else self.build_keys).add(argument.value)

    # Operands

    def parse_operand(self, cursor: _Cursor) -> Operand | None:
        """Parse a term and the fields chained to it, as in ``.A.B`` or ``(f).A``."""
        node = self.parse_term(cursor)
        if node is None:
            return None
        names: list[str] = []
        while cursor.peek().kind == FIELD:
            names.append(cursor.next().value)

        if isinstance(node, Field):
            # Inside {{with}}, dot is the with value, not the template data.
            if self.with_depth == 0:
                self.fields.add(node.names[0])
            return Field(node.names + tuple(names))
        if not names:
            return node
        if isinstance(node, (Literal, Nil, Dot)):
            raise self.fail(f"unexpected {'.' + names[0]!r} after {node.text!r}")
        if isinstance(node, Variable):
            if node.name == "$":
                self.fields.add(names[0])
            return Variable(node.name, tuple(names))
        return Chain(node, tuple(names))

    def parse_term(self, cursor: _Cursor) -> Operand | None:
        """Parse one operand without its fields, or return None at a non-operand token."""
        token = cursor.next()
        kind = token.kind

        if kind == IDENT:
            problem = self.check_function(token.text)
            if problem:
                raise self.fail(problem)
            self.functions.add(token.text)
            return Identifier(token.text)
        if kind == DOT:
            return Dot()
        if kind == NIL:
            return Nil()
        if kind == VAR:
            if token.text not in self.variables:
                raise self.fail(f"undefined variable {token.text!r}")
            return Variable(token.text)
        if kind == FIELD:
            return Field((token.value,))
        if kind in (STRING, BOOL):
            return Literal(token.value, token.text)
        if kind in (NUMBER, CHAR_CONST):
            value, int_value = token.value if kind == NUMBER else (token.value, token.value)
            return Literal(value, token.text, int_value)

        if kind == LPAREN:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(f"parentheses nested more than {MAX_DEPTH} levels deep")
            pipeline = self.parse_pipeline(cursor, "parenthesized pipeline", RPAREN)
            self.depth -= 1
            return pipeline
        if kind != END:  # next() does not move past END, so only other tokens go back
            cursor.index -= 1
        return None


def parse_template(text: str, check_function: FunctionCheck) -> Parsed:
    """Parse template text into nodes and the names it uses.

    ``check_function`` returns an error message for a function name that is unknown or
    may not be used, or None when the name is fine. Raises InterpolationError for any
    syntax error.
    """
    parser = _Parser(_lex(text), check_function)
    nodes, terminator, _ = parser.parse_list()
    if terminator is not None:
        raise parser.fail(f"unexpected {{{{{terminator}}}}} without a matching {{{{if}}}} "
                          "or {{with}}")
    return Parsed(text, tuple(nodes), frozenset(parser.functions), frozenset(parser.fields),
                  frozenset(parser.user_vars), frozenset(parser.build_keys))

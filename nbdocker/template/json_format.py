"""Parse JSON template text into a tree of nodes that remember where each key and value sits.

The standard ``json`` module records no positions and silently keeps the last of two
duplicate keys, so this module scans the text itself. It accepts exactly RFC 8259 JSON,
as Go's ``encoding/json`` does for Packer: no comments, no trailing commas, no single
quotes, no NaN. A syntax error is fatal and names the line, the column, what was
expected, and shows the offending line with a caret. Duplicate keys are collected as
problems so that the caller can report them together with its own findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import Position, Problem, TemplateError

#: Deepest nesting of arrays and objects accepted. Templates nest four or five levels, and
#: the limit keeps the recursive parser and the decoders far from Python's recursion limit.
MAX_DEPTH = 200

_WHITESPACE = " \t\n\r"
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(eq=False)
class Node:
    """One JSON value with its position.

    ``value`` is a ``dict[str, Node]`` for an object (in source order), a ``list[Node]``
    for an array, and the plain Python value otherwise. ``key_position`` is the position
    of the member's key when the node is the value of an object member.
    """

    kind: str
    value: Any
    position: Position
    key_position: Position | None = None
    #: Source text of a number, or of a string between its quotes (to map offsets to columns).
    raw: str = field(default="", repr=False)

    def plain(self) -> Any:
        """Return the value as plain Python data (dict, list, str, int, float, bool, None)."""
        if self.kind == "object":
            return {key: child.plain() for key, child in self.value.items()}
        if self.kind == "array":
            return [child.plain() for child in self.value]
        return self.value

    def position_at(self, offset: int) -> Position:
        """Return the position of character ``offset`` of a string value's decoded text.

        Escapes make the decoded text shorter than the source, so the offset is mapped
        back through the raw token. Offsets past the end point at the closing quote.
        """
        if self.kind != "string" or offset < 0:
            return self.position
        raw_index = 0
        decoded = 0
        while raw_index < len(self.raw) and decoded < offset:
            if self.raw[raw_index] == "\\":
                if self.raw[raw_index + 1:raw_index + 2] == "u":
                    # A surrogate pair is two \uXXXX escapes for one decoded character.
                    high = self.raw[raw_index + 2:raw_index + 4].lower() in ("d8", "d9", "da", "db")
                    is_pair = high and self.raw[raw_index + 6:raw_index + 8] == "\\u"
                    raw_index += 12 if is_pair else 6
                else:
                    raw_index += 2
            else:
                raw_index += 1
            decoded += 1
        column = self.position.column + 1 + raw_index
        return Position(self.position.file, self.position.line, column)


def describe_kind(node: Node) -> str:
    """Name a node's JSON type the way messages speak of it (``an array``, ``a string``)."""
    return {
        "object": "an object", "array": "an array", "string": "a string",
        "number": "a number", "bool": "a boolean", "null": "null",
    }[node.kind]


def parse(text: str, file: str | None, problems: list[Problem]) -> Node:
    """Parse ``text`` into a Node tree.

    Duplicate keys are appended to ``problems`` and parsing goes on. A syntax error
    raises TemplateError carrying the problems found so far plus the syntax error.
    """
    parser = _Parser(text, file, problems)
    try:
        return parser.parse_document()
    except _SyntaxError as err:
        raise TemplateError([*problems, err.problem]) from None


class _SyntaxError(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


class _Parser:
    """A recursive-descent JSON parser that tracks line and column."""

    def __init__(self, text: str, file: str | None, problems: list[Problem]):
        if text.startswith("\ufeff"):
            text = text[1:]
        self.text = text
        self.file = file
        self.problems = problems
        self.index = 0
        self.line = 1
        self.line_start = 0

    # -- positions and errors -------------------------------------------------------

    def position(self, index: int | None = None) -> Position:
        if index is None or index == self.index:
            return Position(self.file, self.line, self.index - self.line_start + 1)
        line = self.text.count("\n", 0, index) + 1
        line_start = self.text.rfind("\n", 0, index) + 1
        return Position(self.file, line, index - line_start + 1)

    def fail(self, message: str, index: int | None = None) -> _SyntaxError:
        index = self.index if index is None else index
        position = self.position(index)
        excerpt = _excerpt(self.text, position)
        return _SyntaxError(Problem(f"invalid JSON: {message}\n{excerpt}", position=position))

    def found(self) -> str:
        if self.index >= len(self.text):
            return "the end of the text"
        char = self.text[self.index]
        if char.isprintable() and char != " ":
            return f"{char!r}"
        return f"character U+{ord(char):04X}"

    # -- scanning -------------------------------------------------------------------

    def skip_whitespace(self) -> None:
        text = self.text
        while self.index < len(text):
            char = text[self.index]
            if char == "\n":
                self.index += 1
                self.line += 1
                self.line_start = self.index
            elif char in " \t\r":
                self.index += 1
            elif char == "/" and text[self.index:self.index + 2] in ("//", "/*"):
                raise self.fail("JSON does not allow comments; to leave a note in a template, "
                                "add a root key that starts with '_', such as \"_comment\"")
            else:
                return

    def peek(self) -> str:
        return self.text[self.index] if self.index < len(self.text) else ""

    def parse_document(self) -> Node:
        self.skip_whitespace()
        if self.index >= len(self.text):
            raise self.fail("the text is empty; expected a JSON object such as "
                            "{\"builders\": [...]}", 0)
        node = self.parse_value("", 0)
        self.skip_whitespace()
        if self.index < len(self.text):
            raise self.fail("expected the end of the text after the JSON document, found "
                            f"{self.found()}")
        return node

    def parse_value(self, path: str, depth: int) -> Node:
        char = self.peek()
        if char == "{":
            return self.parse_object(path, depth + 1)
        if char == "[":
            return self.parse_array(path, depth + 1)
        if char == '"':
            return self.parse_string()
        if char == "-" or (char != "" and char in "0123456789"):
            return self.parse_number()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.index):
                node = Node("bool" if value is not None else "null", value, self.position())
                self.index += len(word)
                return node
        if char == "'":
            raise self.fail("JSON strings must be in double quotes, not single quotes")
        if char in ("]", "}") or char == ",":
            raise self.fail(f"expected a value, found {self.found()}")
        if char == "":
            raise self.fail("the text ends where a value was expected")
        word = self._word_at(self.index)
        if word in ("True", "False", "None", "NaN", "Infinity", "undefined", "TRUE", "FALSE",
                    "NULL"):
            raise self.fail(f"{word!r} is not a JSON value; use true, false, null or a string")
        raise self.fail("expected a value (an object, array, string in double quotes, number, "
                        f"true, false or null), found {self.found()}")

    def _word_at(self, index: int) -> str:
        end = index
        while end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_"):
            end += 1
        return self.text[index:end]

    def parse_object(self, path: str, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.fail(f"objects and arrays are nested more than {MAX_DEPTH} levels deep")
        opening = self.index
        node = Node("object", {}, self.position())
        members: dict[str, Node] = node.value
        self.index += 1
        self.skip_whitespace()
        if self.peek() == "}":
            self.index += 1
            return node
        while True:
            if self.peek() != '"':
                raise self._bad_key(opening)
            key_position = self.position()
            key = self.parse_string().value
            self.skip_whitespace()
            if self.peek() != ":":
                raise self.fail(f"expected ':' after the key {key!r}, found {self.found()}")
            self.index += 1
            self.skip_whitespace()
            if self.peek() == "":
                raise self._unclosed("}", opening)
            child_path = f"{path}.{key}" if path else key
            child = self.parse_value(child_path, depth)
            child.key_position = key_position
            if key in members:
                first = members[key].key_position
                self.problems.append(Problem(
                    f"duplicate key {key!r}; it is first defined at line {first.line}, "
                    f"column {first.column}. Remove one of them: JSON objects cannot repeat a key",
                    path=child_path, position=key_position))
            else:
                members[key] = child
            if self._read_separator("}", "object member", opening):
                return node

    def parse_array(self, path: str, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.fail(f"objects and arrays are nested more than {MAX_DEPTH} levels deep")
        opening = self.index
        node = Node("array", [], self.position())
        items: list[Node] = node.value
        self.index += 1
        self.skip_whitespace()
        if self.peek() == "]":
            self.index += 1
            return node
        while True:
            if self.peek() == "":
                raise self._unclosed("]", opening)
            items.append(self.parse_value(f"{path}[{len(items)}]", depth))
            if self._read_separator("]", "array element", opening):
                return node

    def _read_separator(self, closing: str, element: str, opening: int) -> bool:
        """Read the comma or ``closing`` bracket after an element; return True at the bracket."""
        self.skip_whitespace()
        char = self.peek()
        if char == ",":
            self.index += 1
            self.skip_whitespace()
            if self.peek() == closing:
                raise self.fail(f"a trailing comma before '{closing}' is not allowed in JSON; "
                                "remove the comma", self._last_comma())
            return False
        if char == closing:
            self.index += 1
            return True
        raise self._missing_separator(closing, element, opening)

    def _last_comma(self) -> int:
        return self.text.rfind(",", 0, self.index)

    def _bad_key(self, opening: int) -> _SyntaxError:
        if self.peek() == "'":
            return self.fail("object keys must be strings in double quotes, not single quotes")
        if self.peek() == "":
            return self._unclosed("}", opening)
        return self.fail(f"expected an object key in double quotes, found {self.found()}")

    def _missing_separator(self, closer: str, element: str, opening: int) -> _SyntaxError:
        if self.peek() == "":
            return self._unclosed(closer, opening)
        message = f"expected ',' or '{closer}' after an {element}, found {self.found()}"
        # A value that starts on a later line than the previous one usually means the
        # previous line lacks its trailing comma.
        previous_end = len(self.text[:self.index].rstrip(_WHITESPACE))
        if self.text.count("\n", previous_end, self.index) > 0:
            line = self.text.count("\n", 0, previous_end) + 1
            message += f"; is a comma missing at the end of line {line}?"
        return self.fail(message)

    def _unclosed(self, closer: str, opening: int) -> _SyntaxError:
        start = self.position(opening)
        return self.fail(f"the text ends before '{closer}' closes the "
                         f"{'object' if closer == '}' else 'array'} opened at line {start.line}, "
                         f"column {start.column}")

    def parse_string(self) -> Node:
        start = self.index
        position = self.position()
        text = self.text
        index = start + 1
        pieces: list[str] = []
        chunk_start = index
        while True:
            if index >= len(text):
                raise self.fail("a string is not closed; add the closing '\"'", start)
            char = text[index]
            if char == '"':
                break
            if char == "\\":
                pieces.append(text[chunk_start:index])
                index = self._parse_escape(index, pieces)
                chunk_start = index
                continue
            if ord(char) < 0x20:
                if char == "\n":
                    raise self.fail("a string is not closed before the end of the line; "
                                    "add the closing '\"' or write a line break as \\n", start)
                raise self.fail(f"control character U+{ord(char):04X} inside a string; "
                                "escape it (for example \\t for a tab)", index)
            index += 1
        pieces.append(text[chunk_start:index])
        self.index = index + 1
        return Node("string", "".join(pieces), position, raw=text[start + 1:index])

    def _parse_escape(self, index: int, pieces: list[str]) -> int:
        text = self.text
        code = text[index + 1:index + 2]
        if code in _ESCAPES:
            pieces.append(_ESCAPES[code])
            return index + 2
        if code != "u":
            found = repr(code) if code else "the end of the text"
            raise self.fail(f"invalid escape '\\{code}' in a string (found {found}); valid "
                            "escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX", index)
        value = self._hex4(index + 2)
        index += 6
        if 0xD800 <= value <= 0xDBFF and text[index:index + 2] == "\\u":
            low = self._hex4(index + 2)
            if 0xDC00 <= low <= 0xDFFF:
                pieces.append(chr(0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)))
                return index + 6
        # Like Go, a lone surrogate half becomes U+FFFD instead of an unencodable string.
        pieces.append("\ufffd" if 0xD800 <= value <= 0xDFFF else chr(value))
        return index

    def _hex4(self, index: int) -> int:
        digits = self.text[index:index + 4]
        if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise self.fail("invalid \\u escape: expected four hexadecimal digits", index - 2)
        return int(digits, 16)

    def parse_number(self) -> Node:
        text = self.text
        start = self.index
        position = self.position()
        index = start

        # Integer part: no leading zeros.
        if text[index] == "-":
            index += 1
        if index < len(text) and text[index] == "0":
            index += 1
            if index < len(text) and text[index] in "0123456789":
                raise self.fail("numbers cannot have leading zeros; write the number without them, "
                                "or quote it if it is a version or an identifier", start)
        elif index < len(text) and text[index] in "123456789":
            while index < len(text) and text[index] in "0123456789":
                index += 1
        else:
            raise self.fail("expected a digit after '-'", index)

        # Fraction and exponent.
        is_float = False
        if index < len(text) and text[index] == ".":
            is_float = True
            index += 1
            if index >= len(text) or text[index] not in "0123456789":
                raise self.fail("expected a digit after the decimal point", index)
            while index < len(text) and text[index] in "0123456789":
                index += 1
        if index < len(text) and text[index] in "eE":
            is_float = True
            index += 1
            if index < len(text) and text[index] in "+-":
                index += 1
            if index >= len(text) or text[index] not in "0123456789":
                raise self.fail("expected a digit in the exponent", index)
            while index < len(text) and text[index] in "0123456789":
                index += 1

        literal = text[start:index]
        if len(literal) > 400:
            raise self.fail("number literal is too long (more than 400 characters)", start)
        self.index = index
        value: int | float = float(literal) if is_float else int(literal)
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            raise self.fail(f"number {literal} is out of range", start)
        return Node("number", value, position, raw=literal)


def _excerpt(text: str, position: Position) -> str:
    """Show the line before the error, the error line, and a caret under the column."""
    lines = text.split("\n")
    number = position.line
    width = len(str(number))
    shown = []
    if number >= 2:
        shown.append(f"  {number - 1:>{width}} | {_clip(lines[number - 2])}")
    current = lines[number - 1] if number - 1 < len(lines) else ""
    shown.append(f"  {number:>{width}} | {_clip(current)}")
    # Copy tabs from the line so the caret lines up however the terminal expands them.
    prefix = "".join("\t" if c == "\t" else " " for c in current[:position.column - 1])
    shown.append(f"  {' ' * width} | {_clip(prefix)}^")
    return "\n".join(shown)


def _clip(line: str) -> str:
    line = line.rstrip("\r")
    return line if len(line) <= 200 else line[:200] + " ..."

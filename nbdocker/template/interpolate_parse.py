"""Parser for the Go text/template syntax that Packer's JSON templates use.

``parse_template`` turns template text into a tree of nodes (interpolate_nodes.py) that
``interpolate.py`` executes; interpolate_lexer.py splits the text into tokens first. It
follows Go's ``text/template/parse`` package: the same tokens, trim markers, comments,
string escapes and number syntax, and the same parse-time checks (unknown functions,
undefined variables). Only ``if``, ``else`` and ``with`` are supported as control
structures, because Packer templates rarely use anything else.
"""

from __future__ import annotations

from typing import Callable

from .interpolate_error import InterpolationError
from .interpolate_lexer import (ASSIGN, BOOL, CHAR, CHAR_CONST, DECLARE, DOT, END, FIELD, IDENT,
                                KEYWORD, LPAREN, NIL, NUMBER, PIPE, RPAREN, SPACE, SPACE_CHARS,
                                STRING, VAR, _KEYWORDS, Token, _ActionItem, _lex, parse_number)
from .interpolate_nodes import (Action, Chain, Command, Control, Dot, Field, Identifier, Literal,
                                Nil, Node, Operand, Parsed, Pipeline, Text, Variable)

__all__ = ["MAX_DEPTH", "SPACE_CHARS", "Action", "Chain", "Command", "Control", "Dot", "Field",
           "FunctionCheck", "Identifier", "InterpolationError", "Literal", "Nil", "Node",
           "Operand", "Parsed", "Pipeline", "Text", "Token", "Variable", "parse_number",
           "parse_template"]


#: Maximum nesting depth of parentheses and if/with blocks, counted together.
MAX_DEPTH = 50

_UNSUPPORTED_KEYWORDS = _KEYWORDS - {"if", "else", "end", "with"}


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

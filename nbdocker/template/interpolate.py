"""Packer's JSON template engine: Go text/template syntax inside ``{{ }}``, in pure Python.

``render`` renders one string with a ``Context``, ``parse`` checks the syntax and reports
the functions, fields and variables a string uses, and ``render_until_stable`` renders
until the output stops changing, as Packer does for variables that refer to variables.
interpolate_lexer.py and interpolate_parse.py contain the lexer and parser, and
interpolate_funcs.py the table of functions.

Where Packer silently renders an empty string or ``<no value>``, this engine raises
InterpolationError: ``{{user `x`}}`` for an undefined variable, an unknown dot field, a
missing map key.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from dataclasses import dataclass, field
from typing import Any, Mapping

from .func_table import Function
from .gofmt import format_value, go_type, is_int, truth
from .gotime import as_utc
from .interpolate_funcs import FUNCTIONS, check_function
from .packer_funcs import BUILD_DATA_KEYS, PACKER_VERSION
from .suggest import sentences, suggest
from .interpolate_parse import (Action, Chain, Control, Dot, Field, Identifier,
                                InterpolationError, Literal, Nil, Node, Operand, Parsed,
                                Pipeline, Text, Variable, parse_template)

__all__ = ["Context", "InterpolationError", "Parsed", "parse", "render",
           "render_until_stable", "BUILD_DATA_KEYS", "FUNCTIONS", "PACKER_VERSION"]

_MISSING = object()  # no value piped into a command


@dataclass
class Context:
    """Values that a template string can read while it renders.

    Attributes
    ----------
    variables
        User variables for ``{{user `name`}}``, already rendered.
    data
        Dot fields such as ``{{.Path}}``: ``Path``, ``Vars``, ``Image``, ``BuildName`` ...
    build_data
        Data the build shares with later steps, for ``{{build `ID`}}`` and ``{{.ID}}``.
        None at prepare time, where each key in BUILD_DATA_KEYS renders as the
        placeholder ``{{.Key}}`` so that the result can be rendered again at run time.
    build_name, build_type
        Values of ``{{build_name}}`` and ``{{build_type}}``; None where no build applies,
        such as in variables, which makes those functions raise.
    template_dir
        Directory of the template file, or None when the template has no path.
    env_allowed
        Whether ``{{env `NAME`}}`` may be used; Packer allows it only in variables.
    env
        Environment that ``env`` reads; None reads ``os.environ``.
    now
        Time of the run, for ``timestamp``, ``isotime`` and ``strftime``; converted to
        UTC. It defaults to the time the Context was created, so every string rendered
        with one Context shows the same time.
    user_vars_required
        When False, ``{{user `x`}}`` for an undefined variable renders "" as in Packer
        instead of raising.
    """

    variables: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    build_data: Mapping[str, Any] | None = None
    build_name: str | None = None
    build_type: str | None = None
    template_dir: str | None = None
    env_allowed: bool = False
    env: Mapping[str, str] | None = None
    now: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.timezone.utc))
    user_vars_required: bool = True

    def __post_init__(self) -> None:
        self.now = as_utc(self.now)


def parse(text: str) -> Parsed:
    """Check the syntax of a template string without rendering it.

    Parameters
    ----------
    text
        The template string.

    Returns
    -------
    Parsed
        The names of the functions, top-level dot fields, ``user`` variables and
        ``build`` keys that the text uses.

    Raises
    ------
    InterpolationError
        For a syntax error, an unknown or unsupported function, an undefined ``$variable``
        or an unsupported control structure such as ``{{range}}``.
    """
    if "{{" not in text:
        return Parsed(text, (Text(text),) if text else ())
    return _parse_cached(text)


@functools.lru_cache(maxsize=512)
def _parse_cached(text: str) -> Parsed:
    return parse_template(text, check_function)


def render(text: str, ctx: Context) -> str:
    """Render a template string.

    Text without ``{{`` is returned unchanged without being parsed. Rendering the same
    text with the same Context gives the same result, except for ``{{uuid}}``.

    Raises
    ------
    InterpolationError
        For any syntax error or failing function; ``offset`` points at the action.
    """
    if "{{" not in text:
        return text
    parsed = _parse_cached(text)
    executor = _Executor(ctx)
    try:
        executor.walk(parsed.nodes, ctx.data)
    except InterpolationError as error:
        if error.offset < 0:
            error.offset = executor.offset
        raise
    return "".join(executor.output)


def render_until_stable(text: str, ctx: Context, max_passes: int = 100) -> str:
    """Render repeatedly until the output equals the input, at most ``max_passes`` times.

    Packer renders variables this way, so that a variable whose value is
    ``{{user `other`}}`` ends up with the rendered value of ``other``.

    Raises
    ------
    InterpolationError
        When a pass fails, or when the output still changes after ``max_passes`` passes,
        which happens when a value contains itself. The offset of an error after the
        first pass is -1, because it points into an intermediate text.
    """
    current = text
    for completed in range(max_passes):
        try:
            rendered = render(current, ctx)
        except InterpolationError as error:
            if completed == 0:
                raise
            raise InterpolationError(
                f"{error.message} (in {_shorten(current)}, the output of render pass "
                f"{completed})") from error
        if rendered == current:
            return rendered
        current = rendered
    raise InterpolationError(
        f"rendering {_shorten(text)} still changes after {max_passes} passes: a value "
        "probably includes itself, directly or through other variables")


def _shorten(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit - 3] + "...")


def _print_value(value: Any) -> str:
    """Format an action's value as Go's template engine prints it."""
    if isinstance(value, str):
        return value
    if value is None:
        return "<no value>"
    return format_value(value)


def _describe(value: Any) -> str:
    if value is None:
        return "nil"
    return f"{go_type(value)} {format_value(value)!r}"


class _Executor:
    """Walks a parsed template and collects its output."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.variables: list[tuple[str, Any]] = [("$", ctx.data)]
        self.offset = -1
        self.output: list[str] = []

    # Nodes

    def walk(self, nodes: tuple[Node, ...], dot: Any) -> None:
        for node in nodes:
            if type(node) is Text:
                self.output.append(node.text)
            elif type(node) is Action:
                self.offset = node.offset
                value = self.eval_pipeline(dot, node.pipeline)
                if node.pipeline.declare is None:
                    self.output.append(_print_value(value))
            else:
                self.walk_control(node, dot)

    def walk_control(self, node: Control, dot: Any) -> None:
        scope = len(self.variables)
        self.offset = node.offset
        value = self.eval_pipeline(dot, node.pipeline)
        if truth(value):
            self.walk(node.body, value if node.kind == "with" else dot)
        else:
            self.walk(node.else_body, dot)
        del self.variables[scope:]

    # Pipelines, commands and arguments

    def eval_pipeline(self, dot: Any, pipeline: Pipeline) -> Any:
        value: Any = _MISSING
        for command in pipeline.commands:
            first = command.args[0]
            if type(first) is Identifier:
                value = self.call(dot, first.name, command.args[1:], value)
            else:
                # The parser allows a non-function only alone and first in a pipeline.
                value = self.eval_arg(dot, first)

        if pipeline.declare is not None:
            if pipeline.is_assign:
                self.assign(pipeline.declare, value)
            else:
                self.variables.append((pipeline.declare, value))
        return value

    def eval_arg(self, dot: Any, node: Operand) -> Any:
        kind = type(node)
        if kind is Literal:
            return node.value
        if kind is Field:
            return self.read_fields(dot, node.names)
        if kind is Variable:
            return self.read_fields(self.lookup(node.name), node.names)
        if kind is Dot:
            return dot
        if kind is Nil:
            return None
        if kind is Identifier:
            return self.call(dot, node.name, (), _MISSING)
        if kind is Pipeline:
            return self.eval_pipeline(dot, node)
        if kind is Chain:
            return self.read_fields(self.eval_arg(dot, node.node), node.names)
        raise TypeError(f"unknown template node {node!r}")

    def call(self, dot: Any, name: str, arg_nodes: tuple, final: Any) -> Any:
        """Call a function with its arguments and, last, the value piped into it."""
        function = FUNCTIONS[name]
        count = len(arg_nodes) + (final is not _MISSING)
        fixed = len(function.params)
        if count < fixed or (function.variadic is None and count > fixed):
            expected = str(fixed) if function.variadic is None else f"at least {fixed}"
            raise InterpolationError(
                f"wrong number of arguments for {name}: expected {expected}, got {count}")
        if function.call is None:
            return self.and_or(dot, name, arg_nodes, final)

        args = [self.eval_typed(dot, node, function, position)
                for position, node in enumerate(arg_nodes)]
        if final is not _MISSING:
            args.append(self.check_type(final, function, count - 1))
        if function.needs_context:
            return function.call(self.ctx, *args)
        return function.call(*args)

    def and_or(self, dot: Any, name: str, arg_nodes: tuple, final: Any) -> Any:
        """Evaluate ``and``/``or`` lazily: stop at the first false/true argument."""
        stop_when = name == "or"
        value = None
        for node in arg_nodes:
            value = self.eval_arg(dot, node)
            if truth(value) == stop_when:
                return value
        return value if final is _MISSING else final

    def eval_typed(self, dot: Any, node: Operand, function: Function, position: int) -> Any:
        kind = _param_kind(function, position)
        is_number = type(node) is Literal and (is_int(node.value) or isinstance(node.value, float))
        if kind == "int" and is_number:
            # Go accepts any integral constant for an int parameter, 1e3 included.
            if node.int_value is None:
                raise InterpolationError(f"invalid argument {position + 1} for "
                                         f"{function.name}: expected an integer, "
                                         f"got {node.text}")
            return node.int_value
        return self.check_type(self.eval_arg(dot, node), function, position)

    def check_type(self, value: Any, function: Function, position: int) -> Any:
        kind = _param_kind(function, position)
        if kind == "any":
            return value
        if kind == "string" and isinstance(value, str):
            return value
        if kind == "int" and is_int(value):
            return value
        expected = "a string" if kind == "string" else "an integer"
        raise InterpolationError(f"invalid argument {position + 1} for {function.name}: "
                                 f"expected {expected}, got {_describe(value)}")

    # Variables and fields

    def lookup(self, name: str) -> Any:
        for variable, value in reversed(self.variables):
            if variable == name:
                return value
        raise InterpolationError(f"undefined variable {name!r}")

    def assign(self, name: str, value: Any) -> None:
        for index in range(len(self.variables) - 1, -1, -1):
            if self.variables[index][0] == name:
                self.variables[index] = (name, value)
                return
        raise InterpolationError(f"undefined variable {name!r}")

    def read_fields(self, value: Any, names: tuple[str, ...]) -> Any:
        for name in names:
            value = self.read_field(value, name)
        return value

    def read_field(self, value: Any, name: str) -> Any:
        if value is self.ctx.data:
            return self.read_data_field(name)
        if isinstance(value, Mapping):
            if name in value:
                return value[name]
            keys = [str(key) for key in value]
            raise InterpolationError(sentences(
                f"map has no key {name!r}{suggest(name, keys)}",
                f"Keys: {', '.join(sorted(keys)) or 'none'}"))
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            names = [item.name for item in dataclasses.fields(value)]
            if name in names:
                return getattr(value, name)
            raise InterpolationError(f"{type(value).__name__} has no field {name!r}"
                                     f"{suggest(name, names)}")
        raise InterpolationError(f"can't read field .{name} of {_describe(value)}")

    def read_data_field(self, name: str) -> Any:
        """Read ``{{.Name}}`` from the template data, then from the build data."""
        data = self.ctx.data
        if name in data:
            return data[name]
        build_data = self.ctx.build_data
        if build_data is None:
            if name in BUILD_DATA_KEYS:
                return "{{.%s}}" % name
        elif name in build_data:
            return build_data[name]

        # data and build_data may be the same mapping, so list each name once.
        available = sorted(set(data) | set(build_data or ()))
        message = f"field .{name} is not defined here"
        if not available:
            raise InterpolationError(message + "; no dot fields are available here")
        fields = ", ".join("." + key for key in available)
        raise InterpolationError(sentences(f"{message}{suggest(name, available)}",
                                                f"Available fields: {fields}"))


def _param_kind(function: Function, position: int) -> str:
    if position < len(function.params):
        return function.params[position]
    return function.variadic or "any"

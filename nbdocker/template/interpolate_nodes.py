"""The syntax tree of a parsed template string, and the names the string uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


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

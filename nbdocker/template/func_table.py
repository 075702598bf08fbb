"""The table of template functions and the decorator that adds a function to it.

packer_funcs.py and go_builtins.py fill the table when they are imported, and
interpolate_funcs.py imports both, so read FUNCTIONS from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


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

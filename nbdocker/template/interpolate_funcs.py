"""The complete table of template functions: Packer's own and Go's text/template built-ins.

Each function takes and returns plain Python values: ``str``, ``int``, ``float``, ``bool``,
``None`` (Go's nil), lists and mappings. Values print the way Go's ``fmt`` prints them
(see ``format_value`` and ``sprintf`` in gofmt.py), so ``{{ print 1.0 }}`` renders ``1`` as
in Packer. Functions report failures as InterpolationError; the executor adds the action's
offset. packer_funcs.py and go_builtins.py define the functions, and importing them here
adds them to FUNCTIONS.
"""

from __future__ import annotations

# Importing these modules adds their functions to FUNCTIONS, Packer's functions first.
from . import packer_funcs  # noqa: F401
from . import go_builtins  # noqa: F401
from .func_table import FUNCTIONS, Function
from .gofmt import (format_value, go_quote, go_type, is_int, sprint, sprintf, sprintln,
                    truth)
from .gotime import as_utc, format_go_time, format_strftime
from .packer_funcs import BUILD_DATA_KEYS, PACKER_VERSION, uuid7
from .suggest import suggest

__all__ = ["BUILD_DATA_KEYS", "FUNCTIONS", "PACKER_VERSION", "REJECTED_FUNCTIONS", "Function",
           "as_utc", "check_function", "format_go_time", "format_strftime", "format_value",
           "go_quote", "go_type", "is_int", "sprint", "sprintf", "sprintln", "suggest", "truth",
           "uuid7"]


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

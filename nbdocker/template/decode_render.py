"""Render and check template text in option values at load time, reporting errors as problems."""

from __future__ import annotations

import re

from . import interpolate
from .decode_values import _INVALID
from .json_format import Node
from .report import Report
from .suggest import did_you_mean, sentences


#: Template functions allowed only in the default values of ``variables``. Packer also
#: limits consul_key, vault and aws_secretsmanager to variables; nbdocker's template
#: engine rejects those everywhere.
VARIABLE_ONLY_FUNCTIONS = ("env",)


class PrepareRenderer:
    """Render string values at load time and turn engine errors into problems.

    Before rendering, ``{{user `x`}}`` references are checked against the known variables,
    so a typo is an error naming close matches rather than an empty string. Variables in
    ``unavailable`` are declared but have no value because of an error reported already,
    so their uses fail without a second message.
    """

    def __init__(self, context: interpolate.Context, report: Report, *,
                 unavailable: frozenset[str] = frozenset()):
        self.context = context
        self.report = report
        self.unavailable = unavailable

    def check(self, text: str, node: Node, path: str,
              fields: tuple[str, ...] | None = None) -> bool:
        """Check ``text`` for syntax errors, undefined variables and misplaced functions.

        ``fields`` lists the dot fields that a run-time option may use besides the build
        data keys; None skips that check.
        """
        if "{{" not in text:
            return True
        try:
            parsed = interpolate.parse(text)
        except interpolate.InterpolationError as err:
            self.report.error(f"invalid template text {clip_text(text)!r}: {err.message}", path,
                              node.position_at(err.offset))
            return False
        ok = True
        known = self.context.variables
        for name in sorted(parsed.user_vars):
            if name in self.unavailable and name not in known:
                ok = False
            elif name not in known:
                self.report.error(sentences(
                    f"undefined variable {name!r} in {clip_text(text)!r}"
                    f"{did_you_mean(name, known)}",
                    "Declare it in the template's variables section or pass it with "
                    f"-var {name}=VALUE"), path, node.position_at(offset_of(text, name)))
                ok = False
        if fields is not None:
            ok = self._check_fields(parsed, text, node, path, fields) and ok
        for function in sorted(parsed.functions):
            if function in VARIABLE_ONLY_FUNCTIONS:
                self.report.error(
                    f"{{{{{function}}}}} is allowed only in the default values of the "
                    f"variables section, not here in {clip_text(text)!r}; declare a "
                    f"variable such as \"home\": \"{{{{env `HOME`}}}}\" and use "
                    f"{{{{user `home`}}}} here",
                    path, node.position_at(offset_of(text, function)))
                ok = False
        return ok

    def _check_fields(self, parsed: interpolate.Parsed, text: str, node: Node, path: str,
                      fields: tuple[str, ...]) -> bool:
        allowed = (*fields, *interpolate.BUILD_DATA_KEYS)
        ok = True
        for name in sorted(parsed.fields):
            if name not in allowed:
                available = ("Here you can use the build data keys" if not fields else
                             f"Here you can use {', '.join('.' + f for f in fields)} and the "
                             "build data keys")
                self.report.error(sentences(f"unknown field .{name} in {clip_text(text)!r}"
                                            f"{did_you_mean(name, allowed)}", available),
                                  path, node.position_at(offset_of(text, name)))
                ok = False
        for key in sorted(parsed.build_keys):
            if key not in interpolate.BUILD_DATA_KEYS:
                self.report.error(sentences(
                    f"unknown build data key {key!r} in {clip_text(text)!r}"
                    f"{did_you_mean(key, interpolate.BUILD_DATA_KEYS)}",
                    f"The build data keys are {', '.join(interpolate.BUILD_DATA_KEYS)}"),
                    path, node.position_at(offset_of(text, key)))
                ok = False
        return ok

    def render(self, text: str, node: Node, path: str) -> str | object:
        """Return ``text`` rendered, or ``_INVALID`` after reporting why it cannot be."""
        if "{{" not in text:
            return text
        if not self.check(text, node, path):
            return _INVALID
        try:
            return interpolate.render(text, self.context)
        except interpolate.InterpolationError as err:
            self.report.error(f"cannot render {clip_text(text)!r}: {err.message}", path,
                              node.position_at(err.offset))
            return _INVALID


def offset_of(text: str, word: str) -> int:
    match = re.search(rf"\b{re.escape(word)}\b", text)
    return match.start() if match else 0


def clip_text(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."

"""User variables: defaults, var files and -var values, rendered in dependency order.

Precedence follows Packer's JSON mode: a template default is replaced by a var-file value
(later files win), and a -var value always wins over var files, whatever the order on the
command line. Values may refer to each other with ``{{user `x`}}`` and may use
``{{env `X`}}``; nowhere else in a template is ``env`` allowed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Sequence

from ..errors import Position, TemplateError
from . import interpolate
from .decode_components import RawTemplate
from .decode_render import clip_text, offset_of
from .decode_values import shown_value
from .json_format import Node, parse
from .model import Variable
from .report import Report
from .suggest import did_you_mean


@dataclass
class _Assignment:
    """Source of a variable's value: its text and key path, for messages."""

    text: str
    path: str
    node: Node | None = None

    def position_at(self, offset: int) -> Position | None:
        return self.node.position_at(offset) if self.node is not None else None


def read_var_file(path: str, report: Report) -> dict[str, Node]:
    """Read a JSON var file: an object whose values are strings.

    Problems (missing file, bad JSON, a non-string value) go to ``report``; the values
    that are fine are returned.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        report.error(f"var file {path!r} not found (looked for {os.path.abspath(path)!r})",
                     f"-var-file {path}")
        return {}
    except (OSError, UnicodeDecodeError) as err:
        report.error(f"cannot read var file {path!r}: {err}", f"-var-file {path}")
        return {}

    duplicates: list = []
    try:
        root = parse(text, path, duplicates)
    except TemplateError as err:
        for problem in err.problems:
            report.add(problem)
        return {}
    for problem in duplicates:
        report.add(problem)
    if root.kind != "object":
        report.error(f"var file {path!r} must contain a JSON object of variable names and string "
                     f"values, got {shown_value(root)}", f"-var-file {path}", root.position)
        return {}

    values: dict[str, Node] = {}
    for name, node in root.value.items():
        if node.kind != "string":
            report.error(f"variable {name!r} in var file {path!r} must be a string, got "
                         f"{shown_value(node)}; in JSON templates every variable value is a string",
                         name, node.position)
            continue
        values[name] = node
    return values


def resolve_variables(raw: RawTemplate, report: Report, *, cli_values: Mapping[str, str],
                      var_files: Sequence[str], env: Mapping[str, str] | None, now: datetime,
                      template_dir: str | None
                      ) -> tuple[dict[str, str], dict[str, Variable], list[str]]:
    """Return the final variable values, the declared variables and the sensitive values."""
    declared = raw.variables
    assignments: dict[str, _Assignment] = {}

    # Template defaults, then var files in order, then -var values.
    for name, node in declared.items():
        if node.kind == "string":
            assignments[name] = _Assignment(node.value, f"variables.{name}", node)
    for path in var_files:
        for name, node in read_var_file(path, report).items():
            assignments[name] = _Assignment(node.value, f"-var-file {path}: {name}", node)
            if name not in declared:
                report.warning(f"variable {name!r} is set in var file {path!r} but not declared in "
                               f"the template's variables section{did_you_mean(name, declared)}",
                               name, node.position)
    for name, value in cli_values.items():
        assignments[name] = _Assignment(value, f"-var {name}")
        if name not in declared:
            report.warning(f"variable {name!r} is set with -var but not declared in the template's "
                           f"variables section{did_you_mean(name, declared)}", f"-var {name}")

    # Required variables must be set.
    missing = set()
    for name, node in declared.items():
        if node.kind == "null" and name not in assignments:
            missing.add(name)
            report.error(f"required variable {name!r} is not set; pass it with -var {name}=VALUE "
                         "or in a var file", f"variables.{name}", node.position)

    values = _render_all(assignments, missing, report, env=env, now=now, template_dir=template_dir)

    variables = {
        name: Variable(name=name, default=node.value if node.kind == "string" else None,
                       required=node.kind == "null", position=node.position)
        for name, node in declared.items()
    }

    sensitive_values: list[str] = []
    for name, node in raw.sensitive:
        if name not in declared:
            report.error(f"sensitive-variables names {name!r}, which is not declared in variables"
                         f"{did_you_mean(name, declared)}", "sensitive-variables", node.position)
            continue
        variables[name].sensitive = True
        value = values.get(name, "")
        if value and value not in sensitive_values:
            sensitive_values.append(value)
    return values, variables, sensitive_values


def _render_all(assignments: dict[str, _Assignment], missing: set[str], report: Report, *,
                env: Mapping[str, str] | None, now: datetime,
                template_dir: str | None) -> dict[str, str]:
    """Render every value after the values it refers to; report cycles and unknown names."""
    known = set(assignments) | missing
    dependencies: dict[str, list[str]] = {}
    failed = set(missing)
    for name, assignment in assignments.items():
        dependencies[name] = []
        if "{{" not in assignment.text:
            continue
        try:
            parsed = interpolate.parse(assignment.text)
        except interpolate.InterpolationError as err:
            report.error(f"invalid template text in variable {name!r}: {err.message}",
                         assignment.path, assignment.position_at(err.offset))
            failed.add(name)
            continue
        for used in sorted(parsed.user_vars):
            if used not in known:
                report.error(f"variable {name!r} refers to undefined variable {used!r}"
                             f"{did_you_mean(used, known)}", assignment.path,
                             assignment.position_at(offset_of(assignment.text, used)))
                failed.add(name)
            elif used not in dependencies[name]:
                dependencies[name].append(used)

    values: dict[str, str] = {}
    context = interpolate.Context(variables=values, env_allowed=True,
                                  env=dict(os.environ) if env is None else dict(env),
                                  now=now, template_dir=template_dir, build_data=None)
    state: dict[str, str] = {}

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == "done" or name in failed:
            return
        if state.get(name) == "visiting":
            cycle = chain[chain.index(name):] + [name]
            report.error(f"variables refer to each other in a cycle: {' -> '.join(cycle)}; "
                         "break the cycle by giving one of them a plain value",
                         assignments[name].path, assignments[name].position_at(0))
            failed.update(cycle)
            return
        state[name] = "visiting"
        for used in dependencies.get(name, []):
            visit(used, chain + [name])
        state[name] = "done"
        if any(used in failed for used in dependencies.get(name, [])):
            failed.add(name)
            return
        assignment = assignments[name]
        try:
            values[name] = interpolate.render(assignment.text, context)
        except interpolate.InterpolationError as err:
            report.error(f"cannot render variable {name!r} ({clip_text(assignment.text)!r}): "
                         f"{err.message}", assignment.path, assignment.position_at(err.offset))
            failed.add(name)

    for name in sorted(assignments):
        visit(name, [])
    return values

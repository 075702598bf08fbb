"""Load Packer JSON templates into the validated model that the build runner consumes.

``load_template`` turns template text into a ``Template`` with one ``Build`` per selected
builder. When the template cannot be used, it raises a ``TemplateError`` that carries every
problem found, each with its key path and its file:line:column. Nothing here talks to
Docker.

    >>> template = load_template("<cell>", text=cell, directory=os.getcwd())
    >>> for build in template.builds:
    ...     print(build.name, [p.type for p in build.provisioners])
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Mapping, Sequence

from ..errors import TemplateError
from .decode import decode_root
from .fix import fix_text
from .inspect import format_inspection
from .loader import (_as_variable_value, _BuildLoader, _check_unique_names, _masked, _names,
                     _parse_json, _paths, _read_source, mask)
from .model import Build, Component, Template, Variable
from .report import Report
from .validate import check_min_version
from .variables import resolve_variables

__all__ = ["load_template", "check_syntax", "inspect_template", "fix_template", "mask",
           "Template", "Build", "Component", "Variable"]


def load_template(source: str | os.PathLike, *, text: str | None = None,
                  directory: str | None = None, variables: Mapping[str, str] | None = None,
                  var_files: Sequence[str] = (), only: Sequence[str] = (),
                  except_: Sequence[str] = (), now: datetime | None = None,
                  env: Mapping[str, str] | None = None) -> Template:
    """Parse, decode and validate a JSON template.

    Parameters
    ----------
    source
        Path of a ``.json`` template, ``"-"`` for standard input, or a display name such
        as ``"<cell>"`` when ``text`` is given.
    text
        The template text; when given, ``source`` is only used in messages.
    directory
        Folder that relative paths (scripts, file sources, export_path ...) resolve
        against. Defaults to the template's folder, or the working directory for text.
    variables
        ``-var`` values; they win over ``var_files`` and template defaults.
    var_files
        JSON files of variable values, later files winning.
    only, except_
        Build names to select or skip (``-only``/``-except``). ``except_`` also skips
        post-processors by name, with the rest of their sequence.
    now
        Time that ``timestamp`` and ``isotime`` return everywhere in this load and in the
        builds' renderers. Defaults to the current time.
    env
        Environment for ``{{env `X`}}`` in variable defaults. Defaults to ``os.environ``.

    Returns
    -------
    Template
        The builds in template order; ``warnings`` contains the warnings.

    Raises
    ------
    TemplateError
        With every error (and warning) found, when the template cannot be used.
    """
    display, text, path, directory, template_dir = _read_source(source, text, directory)
    report = Report()
    now = now or datetime.now(timezone.utc)
    cli_values = {str(name): _as_variable_value(value) for name, value in (variables or {}).items()}

    # Structure: JSON syntax, root keys, component types.
    root = _parse_json(text, display, report)
    raw = decode_root(root, report)
    check_min_version(raw, report)

    # Variables: defaults, var files, -var values, rendered in dependency order.
    values, declared, secrets = resolve_variables(
        raw, report, cli_values=cli_values, var_files=_paths(var_files), env=env, now=now,
        template_dir=template_dir)

    # Builds: names, selection, and every component decoded for each selected build.
    loader = _BuildLoader(raw, report, values=values, directory=directory,
                          template_dir=template_dir, now=now, secrets=secrets,
                          unavailable=frozenset(declared) - frozenset(values))
    builds = loader.load(only=_names(only), except_=_names(except_))

    if report.errors:
        raise TemplateError(_masked(report.problems, secrets))
    return Template(path=path, directory=directory, builds=builds, description=raw.description,
                    variables=declared, values=values, sensitive_values=secrets,
                    warnings=_masked(report.warnings, secrets),
                    min_packer_version=raw.min_packer_version)


def check_syntax(source: str | os.PathLike, *, text: str | None = None) -> None:
    """Check only the JSON syntax and the template's structure (``validate -syntax-only``).

    Raises TemplateError with every structural problem: JSON syntax, duplicate keys,
    unknown root keys, components without a type or of an unknown type, nested
    post-processor sequences and duplicate builder names.
    """
    display, text, _, _, _ = _read_source(source, text, None)
    report = Report()
    root = _parse_json(text, display, report)
    raw = decode_root(root, report)
    _check_unique_names(raw.builders, {b.path: b.name for b in raw.builders}, report)
    if report.errors:
        raise TemplateError(report.problems)


def inspect_template(source: str | os.PathLike, *, text: str | None = None,
                     variables: Mapping[str, str] | None = None,
                     var_files: Sequence[str] = ()) -> str:
    """Return the text of ``packer inspect``: variables, builders, provisioners, post-processors.

    Values are shown as written, unrendered; sensitive variables show ``<sensitive>``.
    Only structural problems and unreadable var files raise TemplateError; options are
    not validated.
    """
    display, text, _, _, _ = _read_source(source, text, None)
    report = Report()
    root = _parse_json(text, display, report)
    raw = decode_root(root, report)
    if report.errors:
        raise TemplateError(report.problems)
    cli_values = {str(name): _as_variable_value(value) for name, value in (variables or {}).items()}
    return format_inspection(raw, cli_values, _paths(var_files))


def fix_template(source: str | os.PathLike, *, text: str | None = None) -> str:
    """Return the template as JSON with Packer's docker fixers applied (``packer fix``).

    Removes ``login_email`` from docker builders and post-processors, and renames
    docker-tag's ``tag`` to ``tags`` (merged with any existing ``tags``). The output is
    indented by two spaces and keeps the template's key order.
    """
    display, text, _, _, _ = _read_source(source, text, None)
    return fix_text(text, display)

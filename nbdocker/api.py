"""The Python API behind the CLI and the magics: validate, build, inspect and fix templates."""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Sequence

from .build.artifacts import Artifact
from .build.events import Event, Warning
from .build.runner import Run, RunOptions
from .engine import Engine
from .errors import BuildsFailed, NbDockerError, UserError
from .template import check_syntax as template_check_syntax
from .template import fix_template, inspect_template, load_template
from .template.model import Template

View = Callable[[Event], None]


def _source(path_or_text: str | os.PathLike, directory: str | None) -> dict[str, Any]:
    """Tell a template's text from a path: text starts with ``{`` or spans several lines."""
    value = os.fspath(path_or_text)
    if value.lstrip().startswith("{") or "\n" in value:
        return {"source": "<template>", "text": value, "directory": directory or os.getcwd()}
    if value != "-" and not os.path.exists(value):
        raise UserError(f"Template file {value!r} not found; pass a path to a .json "
                        "template, or the template's text")
    return {"source": value, "text": None, "directory": directory}


def load(path_or_text: str | os.PathLike, *, variables: Mapping[str, str] | None = None,
         var_files: Sequence[str] = (), only: Sequence[str] = (),
         except_: Sequence[str] = (), directory: str | None = None,
         name: str | None = None) -> Template:
    """Parse and validate a template; raise TemplateError listing every problem.

    Parameters
    ----------
    path_or_text
        A path to a JSON template, ``-`` for standard input, or the template's text.
    variables, var_files
        Values for user variables, as ``-var`` and ``-var-file`` give them.
    only, except_
        Build names to select or leave out.
    directory
        Where relative paths in the template resolve; defaults to the template's folder,
        or the working directory for text.
    name
        A display name for text templates in error messages (``<cell>``).
    """
    source = _source(path_or_text, directory)
    if name and source["text"] is not None:
        source["source"] = name
    return load_template(source["source"], text=source["text"], directory=source["directory"],
                         variables=dict(variables or {}), var_files=list(var_files),
                         only=list(only), except_=list(except_))


def validate(path_or_text: str | os.PathLike, **options: Any) -> Template:
    """Validate a template like ``packer validate``; return it, or raise TemplateError."""
    return load(path_or_text, **options)


def check_syntax(path_or_text: str | os.PathLike, *, name: str | None = None) -> None:
    """Check only the JSON syntax and root structure, like ``packer validate -syntax-only``."""
    source = _source(path_or_text, None)
    if name and source["text"] is not None:
        source["source"] = name
    template_check_syntax(source["source"], text=source["text"])


def inspect(path_or_text: str | os.PathLike, *, variables: Mapping[str, str] | None = None,
            var_files: Sequence[str] = ()) -> str:
    """Return ``packer inspect``'s description of a template."""
    source = _source(path_or_text, None)
    return inspect_template(source["source"], text=source["text"],
                            variables=dict(variables or {}), var_files=list(var_files))


def fix(path_or_text: str | os.PathLike) -> str:
    """Return the template with deprecated docker options rewritten, like ``packer fix``."""
    source = _source(path_or_text, None)
    return fix_template(source["source"], text=source["text"])


def start(template: Template, *, on_error: str = "cleanup", parallel: int = 0,
          engine: Engine | None = None, log_dir: str | None = None,
          ask: Callable[[str], str] | None = None, cache: bool = True) -> Run:
    """Return a Run of a loaded template; iterate it for events.

    With ``cache`` false, no step is taken from the step cache (results are still stored).
    """
    return Run(template, RunOptions(on_error=on_error, parallel=parallel, engine=engine,
                                    log_dir=log_dir, ask=ask, use_cache=cache))


def consume(run: Run, view: View | None = None, template: Template | None = None
            ) -> list[Artifact]:
    """Drive a run to its end, feeding every event to ``view``; return the artifacts.

    Raises BuildsFailed (carrying the artifacts that were made) when any build failed,
    Interrupted when the run was interrupted, and re-raises a bug in a build.
    """
    if template is not None and view is not None:
        for warning in template.warnings:
            view(Warning(str(warning)))
    events = iter(run)
    while True:
        try:
            for event in events:
                if view is not None:
                    view(event)
            break
        except KeyboardInterrupt:
            # The interrupt arrived in the view, outside the run's own loop. Cancel the
            # builds and keep reading, so containers are removed and the view gets the end.
            run.interrupt()
    for error in run.errors.values():
        if not isinstance(error, NbDockerError):
            raise error
    if run.errors:
        raise BuildsFailed(dict(run.errors), artifacts=run.artifacts)
    return list(run.artifacts)


def build(path_or_text: str | os.PathLike, *, variables: Mapping[str, str] | None = None,
          var_files: Sequence[str] = (), only: Sequence[str] = (),
          except_: Sequence[str] = (), on_error: str = "cleanup", parallel: int = 0,
          view: View | None = None, engine: Engine | None = None,
          directory: str | None = None, cache: bool = True) -> list[Artifact]:
    """Build a template like ``packer build`` and return its artifacts.

    Parameters
    ----------
    path_or_text
        A path to a JSON template, or the template's text.
    variables, var_files, only, except_
        As for :func:`load`.
    on_error
        ``cleanup`` (default), ``abort``, ``ask`` or ``run-cleanup-provisioner``.
    parallel
        How many builds run at once; 0 runs them all.
    view
        Called with every event (for example ``nbdocker.display.text.TextView().handle``).
    engine
        The engine to use; by default the one DOCKER_HOST names.
    cache
        Reuse unchanged steps from earlier builds (default). False runs every step, as
        ``-force`` does on the command line.

    Raises
    ------
    TemplateError
        The template is invalid.
    BuildsFailed
        A build failed; ``.errors`` maps build names to errors, ``.artifacts`` lists what
        the other builds made.

    Examples
    --------
    >>> artifacts = nbdocker.build("template.json", variables={"tag": "1.0"})  # doctest: +SKIP
    >>> artifacts[-1].tags  # doctest: +SKIP
    ['example/web:1.0']
    """
    template = load(path_or_text, variables=variables, var_files=var_files, only=only,
                    except_=except_, directory=directory)
    run = start(template, on_error=on_error, parallel=parallel, engine=engine, cache=cache)
    return consume(run, view, template)

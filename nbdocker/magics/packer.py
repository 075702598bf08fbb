"""``%%packer``: validate, build, inspect or fix the Packer template written in the cell."""

from __future__ import annotations

import argparse
import os
import shlex
from typing import Any


from .. import api
from ..cli import parse_variable, split_names
from ..display.text import TextView
from ..errors import BuildsFailed, TemplateError
from .errors import CellError, user_errors

COMMANDS = ("build", "validate", "inspect", "fix")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would exit the kernel
        raise CellError(f"%%packer: {message}\n{self.format_usage().strip()}",
                        kind="UsageError")


def make_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``%%packer`` line."""
    parser = _Parser(prog="%%packer", add_help=False,
                     usage="%%packer [build|validate|inspect|fix] [-var KEY=VALUE]... "
                           "[-var-file FILE]... [-only NAMES] [-except NAMES] "
                           "[-on-error MODE] [-parallel-builds N] [--no-cache] [-o NAME]")
    parser.add_argument("command", nargs="?", default="build", choices=COMMANDS)
    parser.add_argument("-var", "--var", dest="variables", action="append", default=[],
                        type=parse_variable)
    parser.add_argument("-var-file", "--var-file", dest="var_files", action="append",
                        default=[])
    parser.add_argument("-only", "--only", type=split_names, default=[])
    parser.add_argument("-except", "--except", dest="except_", type=split_names, default=[])
    parser.add_argument("-on-error", "--on-error", default="cleanup",
                        choices=["cleanup", "abort", "ask", "run-cleanup-provisioner"])
    parser.add_argument("-parallel-builds", "--parallel-builds", type=int, default=0)
    parser.add_argument("-syntax-only", "--syntax-only", action="store_true")
    parser.add_argument("-force", "--force", "--no-cache", dest="no_cache", action="store_true")
    parser.add_argument("-o", "--output", dest="output", default=None, metavar="NAME")
    return parser


def _ask(prompt: str) -> str:
    try:
        return input(prompt + " ")
    except Exception:  # noqa: BLE001 - no stdin in this frontend (nbclient, voila)
        return "c"


# Lines of command output a plain-text view prints per build in a notebook before it holds
# the rest back; printed text is saved with the notebook, so it must stay bounded.
NOTEBOOK_TEXT_OUTPUT_LINES = 200


def _widgets_importable() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def make_view(magics: Any):
    """Return the view for this frontend and the magics' settings.

    A kernel (a shell with a ``kernel``) gets the widget view unless ``plain_text`` is set
    or ipywidgets is missing. Then, and in terminal IPython, the view is text. In a kernel the
    text is bounded because it is saved with the notebook, while a terminal gets every line.
    """
    in_kernel = getattr(magics.shell, "kernel", None) is not None
    tail_lines = magics.log_tail_lines
    if in_kernel and not magics.plain_text and _widgets_importable():
        from ..display.widgets import BuildView

        return BuildView(tail_lines=tail_lines, max_redraws=magics.max_redraws)
    return TextView(max_output_lines=NOTEBOOK_TEXT_OUTPUT_LINES if in_kernel else None,
                    tail_lines=tail_lines, summary=True)


def run_packer_cell(magics: Any, line: str, cell: str) -> None:
    """Run ``%%packer`` for one cell; see ``NbDockerMagics.packer`` for the manual."""
    args = make_parser().parse_args(shlex.split(line))
    if not cell.strip():
        raise CellError("%%packer: the cell is empty; write a Packer JSON template in it",
                        kind="UsageError")
    if args.output and not args.output.isidentifier():
        raise CellError(f"-o {args.output!r} is not a valid Python name", kind="UsageError")
    variables = dict(args.variables)
    with user_errors():
        if args.command == "fix":
            print(api.fix(cell), end="")
            return
        if args.command == "inspect":
            print(api.inspect(cell, variables=variables, var_files=args.var_files))
            return
        if args.command == "validate" and args.syntax_only:
            api.check_syntax(cell, name="<cell>")
            print("Syntax-only check passed. Everything looks okay.")
            return
        template = api.load(cell, variables=variables, var_files=args.var_files,
                            only=args.only, except_=args.except_, directory=os.getcwd(),
                            name="<cell>")
        for warning in template.warnings:
            print(f"Warning: {warning}")
        if args.command == "validate":
            print("The configuration is valid.")
            _store(magics, args.output, template)
            return
        view = make_view(magics)
        run = api.start(template, on_error=args.on_error, parallel=args.parallel_builds,
                        log_dir=magics.log_dir or None, ask=_ask,
                        cache=not args.no_cache)
        try:
            artifacts = api.consume(run, view.handle)
        except BuildsFailed as err:
            _store(magics, args.output, err.artifacts)
            _close(view)
            raise CellError(_failure_message(err), kind="Build failed") from None
        except BaseException:
            _close(view)
            raise
        _close(view)
        _store(magics, args.output, artifacts)


def _close(view: Any) -> None:
    close = getattr(view, "close", None)
    if close:
        close()


def _store(magics: Any, name: str | None, value: Any) -> None:
    if name:
        if not name.isidentifier():
            raise CellError(f"-o {name!r} is not a valid Python name", kind="UsageError")
        magics.shell.user_ns[name] = value


def _failure_message(err: BuildsFailed) -> str:
    parts = []
    for build, error in err.errors.items():
        text = f"Build {build!r}: {error}"
        tail = getattr(error, "tail", None)
        if tail:
            text += "\nLast lines of output:\n" + "\n".join(f"    {line}" for line in tail)
        parts.append(text)
    return "\n".join(parts)


__all__ = ["run_packer_cell", "TemplateError"]

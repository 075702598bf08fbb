"""The ``nbdocker`` command: validate, build, inspect and fix Packer templates.

Flags are spelled as Packer spells them (``-var k=v``, ``-on-error=abort``,
``-machine-readable``); the double-dash forms work too.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Sequence

from . import api
from .display.machine import MachineView
from .display.text import TextView
from .errors import BuildsFailed, Interrupted, TemplateError, UserError


def parse_variable(text: str) -> tuple[str, str]:
    """Split ``-var`` text ``key=value``; raise a usage error without ``=``."""
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"invalid -var {text!r}: expected KEY=VALUE")
    return key, value


def split_names(text: str) -> list[str]:
    """Split a comma-separated ``-only``/``-except`` list."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _add_template_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-var", "--var", dest="variables", action="append", default=[],
                        type=parse_variable, metavar="KEY=VALUE",
                        help="set a user variable (repeatable)")
    parser.add_argument("-var-file", "--var-file", dest="var_files", action="append",
                        default=[], metavar="FILE",
                        help="JSON file of variable values (repeatable; later files win)")
    parser.add_argument("template", help="template file, or - for standard input")


def _add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-only", "--only", type=split_names, default=[], metavar="NAMES",
                        help="build only these builds (comma-separated)")
    parser.add_argument("-except", "--except", dest="except_", type=split_names, default=[],
                        metavar="NAMES", help="skip these builds (comma-separated)")


def make_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``nbdocker`` command."""
    parser = argparse.ArgumentParser(
        prog="nbdocker",
        description="Build Docker images from Packer templates, like packer build.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check that a template is valid")
    validate.add_argument("-syntax-only", "--syntax-only", action="store_true",
                          help="only check the JSON syntax and the root structure")
    validate.add_argument("-machine-readable", "--machine-readable", action="store_true")
    _add_selection(validate)
    _add_template_options(validate)

    build = commands.add_parser("build", help="run the builds of a template")
    build.add_argument("-on-error", "--on-error", default="cleanup",
                       choices=["cleanup", "abort", "ask", "run-cleanup-provisioner"],
                       help="what to do when a build fails (default: cleanup)")
    build.add_argument("-parallel-builds", "--parallel-builds", type=int, default=0,
                       metavar="N", help="run at most N builds at once (0: all)")
    build.add_argument("-machine-readable", "--machine-readable", action="store_true",
                       help="print timestamp,target,type,data lines")
    build.add_argument("-force", "--force", action="store_true",
                       help="run every step again instead of reusing the step cache")
    build.add_argument("-color", "--color", default="true", choices=["true", "false"],
                       help="colour errors red (default: true on a terminal)")
    _add_selection(build)
    _add_template_options(build)

    inspect = commands.add_parser("inspect", help="describe a template's variables and builds")
    _add_template_options(inspect)

    fix = commands.add_parser("fix", help="rewrite deprecated options and print the template")
    fix.add_argument("template", help="template file, or - for standard input")

    cache = commands.add_parser("cache", help="list or remove step cache images")
    cache.add_argument("action", choices=["ls", "prune"])
    return parser


def _ask(prompt: str) -> str:
    if not sys.stdin.isatty():
        return "c"
    try:
        return input(prompt + " ")
    except EOFError:
        return "c"


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 success, 1 failure)."""
    args = make_parser().parse_args(argv)
    # As with Packer, SIGTERM cancels like Ctrl-C, so the build containers are removed.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("Cancelled after an interrupt.", file=sys.stderr)
        return 1
    except UserError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    variables = dict(getattr(args, "variables", []) or [])
    if args.command == "cache":
        return _cache(args.action)
    if args.command == "fix":
        sys.stdout.write(api.fix(args.template))
        return 0
    if args.command == "inspect":
        print(api.inspect(args.template, variables=variables, var_files=args.var_files))
        return 0
    if args.command == "validate":
        if args.syntax_only:
            api.check_syntax(args.template)
            print("Syntax-only check passed. Everything looks okay.")
            return 0
        try:
            template = api.validate(args.template, variables=variables,
                                    var_files=args.var_files, only=args.only,
                                    except_=args.except_)
        except TemplateError as err:
            print(f"Error: {err}", file=sys.stderr)
            return 1
        for warning in template.warnings:
            print(f"Warning: {warning}", file=sys.stderr)
        print("The configuration is valid.")
        return 0

    color = args.color == "true" and sys.stdout.isatty()
    view = MachineView() if args.machine_readable else TextView(color=color)
    template = api.load(args.template, variables=variables, var_files=args.var_files,
                        only=args.only, except_=args.except_)
    run = api.start(template, on_error=args.on_error, parallel=args.parallel_builds, ask=_ask,
                    cache=not args.force)
    try:
        api.consume(run, view.handle, template)
    except (Interrupted, BuildsFailed):
        # The view has already printed how each build ended.
        return 1
    return 0


def _cache(action: str) -> int:
    from .build import cache
    from .engine import connect

    engine = connect()
    if action == "prune":
        removed = cache.prune(engine)
        print(f"Removed {len(removed)} cache image tag(s).")
        return 0
    entries = cache.list_entries(engine)
    print(f"{'KEY':<20} {'IMAGE ID':<20} {'SIZE':>10}")
    for entry in entries:
        print(f"{entry.key[:16]:<20} {entry.image_id[7:19]:<20} {entry.size / 1e6:>8.1f}MB")
    return 0

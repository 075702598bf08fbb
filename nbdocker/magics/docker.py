"""The ``%docker_*`` line magics: log in, tag, push, pull, list, search and run images.

Each magic parses its line with IPython's magic_arguments (an unknown flag is a UsageError),
calls the function of the same name in ``nbdocker.publish`` with a live view, and turns
nbdocker's user errors into a one-line cell error. ``-o NAME`` stores the result object in the
variable NAME. Lines are expanded like any magic line, so ``{registry}`` and ``$registry``
insert Python values.
"""

from __future__ import annotations

import argparse
import shlex

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .. import publish
from .errors import CellError, user_errors


def _output_argument():
    return argument("-o", "--output", metavar="NAME",
                    help="Store the result object in the variable NAME.")


@magics_class
class DockerMagics(Magics):
    """Magics that publish and find images: ``%docker_login``, ``%docker_push`` and friends."""

    def _default_registry(self) -> str | None:
        """Return ``NbDockerMagics.default_registry``, or None when it is unset."""
        settings = self.shell.magics_manager.registry.get("NbDockerMagics")
        return getattr(settings, "default_registry", "") or None

    def _store(self, name: str | None, value: object) -> None:
        if name:
            self.shell.user_ns[name] = value

    def _parse(self, method, line: str) -> argparse.Namespace:
        """Parse ``line`` with the magic's arguments; raise CellError for a bad line.

        IPython shows a UsageError only as text on stderr, so a saved notebook would not mark
        the cell as failed. CellError fails it the same way as every other user mistake.
        """
        try:
            # NB: parse_argstring splits without POSIX rules, which keeps the quotes inside
            # 'a b' as part of the argument; shlex gives what a shell would.
            argv = shlex.split(line)
        except ValueError as err:
            raise CellError(f"Cannot parse the line: {err}.", kind="UsageError") from None
        parser = method.parser
        # An abbreviation such as --all for --all-tags would pass as a known flag.
        parser.allow_abbrev = False
        try:
            args = parser.parse_args(argv)
        except UsageError as err:
            # IPython's formatter writes the usage as a reST literal block ("::" and indent).
            usage = " ".join(parser.format_usage().replace("::", " ").split())
            raise CellError(f"{err}. Usage: {usage}", kind="UsageError") from None
        if args.output is not None and not args.output.isidentifier():
            raise CellError(f"-o needs a Python variable name, got {args.output!r}.",
                            kind="UsageError")
        return args

    @magic_arguments()
    @argument("server", nargs="?", default=None,
              help="Registry HOST[:PORT]; NbDockerMagics.default_registry or Docker Hub "
                   "if left out.")
    @argument("-u", "--username",
              help="User name; defaults to the one stored for SERVER, else asked.")
    @argument("--password-env", metavar="VAR",
              help="Read the password from the environment variable VAR instead of asking.")
    @_output_argument()
    @line_magic
    def docker_login(self, line: str) -> None:
        """Log in to a registry and store the credentials like ``docker login``.

        The password is asked for with a hidden prompt, or read from the environment
        variable VAR where no prompt is possible (nbclient, CI). It is never taken from the
        line. The engine checks the login with the registry first. The credentials then go to
        the credential helper that config.json names (credsStore, credHelpers), or into
        ``$DOCKER_CONFIG/config.json`` (``~/.docker/config.json`` by default). The message
        names the place.

        Example::

            %docker_login 127.0.0.1:5001 -u nbdocker --password-env REGISTRY_PASSWORD
        """
        args = self._parse(self.docker_login, line)
        with user_errors():
            result = publish.login(args.server or self._default_registry(), args.username,
                                   password_env=args.password_env)
        print(result)
        self._store(args.output, result)

    @magic_arguments()
    @argument("server", nargs="?", default=None,
              help="Registry HOST[:PORT]; Docker Hub if left out.")
    @_output_argument()
    @line_magic
    def docker_logout(self, line: str) -> None:
        """Remove the stored credentials for a registry, like ``docker logout``.

        Example::

            %docker_logout 127.0.0.1:5001
        """
        args = self._parse(self.docker_logout, line)
        with user_errors():
            result = publish.logout(args.server or self._default_registry())
        print(result)
        self._store(args.output, result)

    @magic_arguments()
    @argument("source", help="A local image: NAME[:TAG] or an image id.")
    @argument("target", help="The new name: [HOST[:PORT]/]NAME[:TAG].")
    @_output_argument()
    @line_magic
    def docker_tag(self, line: str) -> None:
        """Give a local image a new name, like ``docker tag``.

        TARGET is checked against Docker's reference grammar before the engine is called, so
        a space or an uppercase letter fails with a proposed fix. To push an image, name it
        after the registry and your account: ``HOST:PORT/ACCOUNT/NAME:TAG``.

        Example::

            %docker_tag busybox:latest 127.0.0.1:5001/nbdocker/hello:1.0
        """
        args = self._parse(self.docker_tag, line)
        with user_errors():
            result = publish.tag(args.source, args.target)
        print(result)
        self._store(args.output, result)

    @magic_arguments()
    @argument("reference", help="[HOST[:PORT]/]NAME[:TAG]; the tag defaults to latest.")
    @argument("--all-tags", action="store_true", help="Push every local tag of the repository.")
    @_output_argument()
    @line_magic
    def docker_push(self, line: str) -> None:
        """Push an image to its registry with a live per-layer view, like ``docker push``.

        The credentials stored for the image's registry (see ``%docker_login``) go with this
        push only. A registry that wants a login fails the cell with the command to run.
        ``-o`` stores a PushResult whose ``digest`` is the pushed manifest's.

        Example::

            %docker_push 127.0.0.1:5001/nbdocker/hello:1.0 -o pushed
        """
        args = self._parse(self.docker_push, line)
        with user_errors():
            result = publish.push(args.reference, all_tags=args.all_tags, view="auto")
        self._store(args.output, result)

    @magic_arguments()
    @argument("reference", help="[HOST[:PORT]/]NAME[:TAG|@DIGEST]; the tag defaults to latest.")
    @argument("--all-tags", action="store_true", help="Pull every tag of the repository.")
    @_output_argument()
    @line_magic
    def docker_pull(self, line: str) -> None:
        """Pull an image with a live per-layer view, like ``docker pull``.

        The overall bar counts each layer's download and extraction as one half each. The
        credentials stored for the image's registry go with this pull only.

        Example::

            %docker_pull 127.0.0.1:5001/nbdocker/hello:1.0
        """
        args = self._parse(self.docker_pull, line)
        with user_errors():
            result = publish.pull(args.reference, all_tags=args.all_tags, view="auto")
        self._store(args.output, result)

    @magic_arguments()
    @argument("filter", nargs="?", default=None,
              help="Only images whose reference matches, e.g. busybox or '127.0.0.1:5001/*/*'.")
    @argument("-a", "--all", action="store_true", help="Include intermediate images.")
    @_output_argument()
    @line_magic
    def docker_images(self, line: str):
        """Show local images as a sortable, filterable table, like ``docker images``.

        Columns: repository, tag, image id, created, size. Saved notebooks keep a static copy
        of the table.

        Example::

            %docker_images busybox
        """
        args = self._parse(self.docker_images, line)
        with user_errors():
            table = publish.images(args.filter, all=args.all)
        self._store(args.output, table)
        return table

    @magic_arguments()
    @argument("term", help="Text to search for; may start with an index host: HOST:PORT/TERM.")
    @argument("--limit", type=int, default=publish.DEFAULT_SEARCH_LIMIT, metavar="N",
              help="Maximum number of results, 1 to 100 (default 25).")
    @argument("--filter", action="append", default=[], metavar="KEY=VALUE", dest="filters",
              help="Index searches: is-official=true|false, is-automated=true|false, stars=N.")
    @argument("--registry", metavar="HOST[:PORT]",
              help="Search this registry's catalog instead of an index.")
    @_output_argument()
    @line_magic
    def docker_search(self, line: str):
        """Search an index like ``docker search``, or a registry's catalog.

        Without ``--registry`` the engine searches the index that TERM names
        (``127.0.0.1:8080/busybox``), or Docker Hub (or the catalog of
        ``NbDockerMagics.default_registry`` when that is set). With ``--registry`` the registry's
        repository list is searched for names containing TERM (registries have no search
        API), using the credentials stored by ``%docker_login``.

        Examples::

            %docker_search busybox --filter is-official=true --limit 5
            %docker_search hello --registry 127.0.0.1:5001
        """
        args = self._parse(self.docker_search, line)
        registry = args.registry
        if registry is None and "/" not in args.term and not args.filters:
            registry = self._default_registry()
        with user_errors():
            table = publish.search(args.term, limit=args.limit, filters=args.filters,
                                   registry=registry)
        self._store(args.output, table)
        return table

    @magic_arguments()
    @_output_argument()
    @argument("--tail", type=int, default=200, metavar="N",
              help="Lines of output to keep (default 200).")
    @argument("image", help="A local image.")
    @argument("command", nargs=argparse.REMAINDER,
              help="Command and arguments; the image's default command if left out.")
    @line_magic
    def docker_run(self, line: str) -> None:
        """Run a command in a throwaway container and show its output, like ``docker run --rm``.

        Options go before IMAGE; everything after it is the command. The output streams into
        the cell, the container is removed afterwards (also on error or interrupt), and a
        non-zero exit status fails the cell with the status and the last lines. ``-o`` stores
        a RunResult with ``exit_code`` and ``tail``.

        Example::

            %docker_run busybox:latest sh -c "echo hello; ls /"
        """
        args = self._parse(self.docker_run, line)
        with user_errors():
            try:
                result = publish.run(args.image, args.command, view="auto", tail=args.tail)
            except publish.RunFailed as failure:
                self._store(args.output, failure.result)
                raise
        self._store(args.output, result)

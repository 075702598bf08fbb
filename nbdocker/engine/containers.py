"""Container operations used by builds: create, start, exec, copy in and out, commit, export."""

from __future__ import annotations

import base64
import io
import json
import re
import logging
import tarfile
from dataclasses import dataclass, field
from typing import Any, Iterator

import docker.errors
import requests.exceptions

from ..errors import EngineError
from .translate import engine_errors

log = logging.getLogger(__name__)

#: Name prefix of every build container, so tests and cleanup can find them. Builds are
#: found by name, not by label, because a commit copies the container's labels into the image.
BUILD_NAME_PREFIX = "nbdocker-build-"
#: Label holding $NBDOCKER_SESSION on throwaway containers (``run``), which are never committed.
SESSION_LABEL = "io.nbdocker.session"


def build_container_name(run_id: str, build: str, session: str = "") -> str:
    """Return a build container's name: prefix, session (``$NBDOCKER_SESSION``), run, build."""
    parts = [session, run_id[:12], build]
    cleaned = "-".join(re.sub(r"[^a-zA-Z0-9_.-]+", "-", part).strip("-.") for part in parts
                       if part)
    return f"{BUILD_NAME_PREFIX}{cleaned}"


@dataclass
class ImageInfo:
    """Image facts a build needs: id, digests and the runtime config."""

    id: str
    repo_digests: list[str] = field(default_factory=list)
    repo_tags: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    os: str = "linux"
    architecture: str = ""


@dataclass
class ExecResult:
    """Exit status of a finished exec; set after the output iterator is exhausted."""

    exit_code: int | None = None


class ContainerOps:
    """Container verbs of the Engine, mixed into ``Engine``; uses ``self.client`` and ``self.api``."""

    # -- images a build reads -------------------------------------------------------------

    def inspect_image(self, reference: str) -> ImageInfo | None:
        """Return an image's id, digests and config, or None when it is not present locally."""
        try:
            with engine_errors(f"Inspecting image {reference!r}"):
                data = self.api.inspect_image(reference)
        except EngineError as err:
            if isinstance(err.__cause__, docker.errors.NotFound):
                return None
            raise
        return ImageInfo(
            id=data["Id"],
            repo_digests=list(data.get("RepoDigests") or []),
            repo_tags=list(data.get("RepoTags") or []),
            config=dict(data.get("Config") or {}),
            os=data.get("Os") or "linux",
            architecture=data.get("Architecture") or "",
        )

    # -- container lifecycle -------------------------------------------------------------

    def create_container(self, image: str, **options: Any) -> str:
        """Create a container and return its id; ``options`` are docker SDK create arguments.

        Host options (binds, privileged, cap_add, cap_drop, devices, tmpfs, runtime) go into
        the host config; everything else goes to ``APIClient.create_container``.
        """
        host_keys = ("binds", "privileged", "cap_add", "cap_drop", "devices", "tmpfs",
                     "runtime", "network_mode", "auto_remove")
        host_options = {key: options.pop(key) for key in host_keys if key in options}
        with engine_errors(f"Creating a container from {image!r}"):
            host_config = self.api.create_host_config(**host_options)
            created = self.api.create_container(image, host_config=host_config, **options)
        return created["Id"]

    def start(self, container_id: str) -> None:
        """Start a created container."""
        with engine_errors(f"Starting container {container_id[:12]}"):
            self.api.start(container_id)

    def container_state(self, container_id: str) -> dict[str, Any]:
        """Return the ``State`` section of a container's inspect data."""
        with engine_errors(f"Inspecting container {container_id[:12]}"):
            return dict(self.api.inspect_container(container_id)["State"])

    def remove_container(self, container_id: str) -> None:
        """Kill and remove a container; a container that is already gone is not an error."""
        try:
            self.api.remove_container(container_id, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as err:
            if "already in progress" in str(err):
                return
            raise EngineError(f"Removing container {container_id[:12]} failed: {err}") from err

    def list_containers(self, prefix: str = BUILD_NAME_PREFIX) -> list[dict[str, Any]]:
        """List containers (running or not) whose name starts with ``prefix``."""
        with engine_errors("Listing containers"):
            found = self.api.containers(all=True, filters={"name": prefix})
        return [container for container in found
                if any(name.lstrip("/").startswith(prefix) for name in container["Names"])]

    # -- running commands ----------------------------------------------------------------

    def exec(self, container_id: str, command: list[str], *, user: str = "",
             environment: dict[str, str] | None = None, workdir: str | None = None,
             tty: bool = False, result: ExecResult | None = None) -> Iterator[tuple[str, bytes]]:
        """Run ``command`` in a running container, yielding ``(stream, chunk)`` pairs.

        ``stream`` is ``stdout`` or ``stderr``. Standard input is closed, so a command that
        reads it gets end of file at once. When the iterator ends, ``result.exit_code`` holds
        the exit status.
        """
        with engine_errors(f"Running a command in container {container_id[:12]}"):
            exec_id = self.api.exec_create(
                container_id, command, stdout=True, stderr=True, stdin=False, tty=tty,
                user=user or "", environment=environment, workdir=workdir,
            )["Id"]
            output = self.api.exec_start(exec_id, stream=True, demux=True)
        try:
            for stdout, stderr in output:
                if stdout:
                    yield "stdout", stdout
                if stderr:
                    yield "stderr", stderr
        finally:
            close = getattr(output, "close", None)
            if close:
                close()
        if result is not None:
            with engine_errors(f"Reading the exit status in container {container_id[:12]}"):
                result.exit_code = self.api.exec_inspect(exec_id)["ExitCode"]

    # -- copying files -------------------------------------------------------------------

    def put_archive(self, container_id: str, path: str, data: bytes) -> None:
        """Extract the tar archive ``data`` into ``path`` inside the container."""
        with engine_errors(f"Copying files into {path!r} in container {container_id[:12]}"):
            self.api.put_archive(container_id, path, data)

    def stat_path(self, container_id: str, path: str) -> dict[str, Any] | None:
        """Return the engine's stat of ``path`` in the container, or None if it does not exist.

        Uses ``HEAD /containers/{id}/archive``, which returns only the stat header, so a
        large directory is not streamed.
        """
        url = self.api._url("/containers/{0}/archive", container_id)
        try:
            response = self.api.head(url, params={"path": path})
        except requests.exceptions.RequestException as err:
            raise EngineError(f"Reading {path!r} in container {container_id[:12]} failed: "
                              f"{err}") from err
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise EngineError(f"Reading {path!r} in container {container_id[:12]} failed: "
                              f"HTTP {response.status_code}")
        header = response.headers.get("X-Docker-Container-Path-Stat", "")
        return json.loads(base64.b64decode(header)) if header else {}

    def get_archive(self, container_id: str, path: str) -> tarfile.TarFile:
        """Return ``path`` from the container as an open tar archive (read into memory)."""
        with engine_errors(f"Copying {path!r} out of container {container_id[:12]}"):
            stream, _stat = self.api.get_archive(container_id, path)
            buffer = io.BytesIO(b"".join(stream))
        return tarfile.open(fileobj=buffer, mode="r:")

    # -- results -------------------------------------------------------------------------

    def commit(self, container_id: str, *, config: dict[str, Any] | None = None,
               changes: list[str] | None = None, author: str = "", message: str = "",
               labels: dict[str, str] | None = None) -> str:
        """Commit the container's filesystem as a new image and return the image id.

        ``config`` is the image config to start from (the engine applies ``changes`` to it
        and fills empty fields from the container's own config).
        """
        body = dict(config or {})
        if labels:
            body["Labels"] = {**(body.get("Labels") or {}), **labels}
        with engine_errors(f"Committing container {container_id[:12]}"):
            created = self.api.commit(container_id, message=message or None,
                                      author=author or None, changes=changes or None,
                                      conf=body or None)
        return created["Id"]

    def export(self, container_id: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream the container's filesystem as a tar archive."""
        with engine_errors(f"Exporting container {container_id[:12]}"):
            response = self.api.export(container_id, chunk_size=chunk_size)
            yield from response

    def remove_image(self, reference: str, *, force: bool = False) -> None:
        """Remove an image; a missing image is not an error."""
        try:
            self.api.remove_image(reference, force=force, noprune=False)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as err:
            raise EngineError(f"Removing image {reference!r} failed: "
                              f"{err.explanation or err}") from err

    def tag_image(self, image: str, repository: str, tag: str | None = None) -> None:
        """Give ``image`` the name ``repository:tag``."""
        with engine_errors(f"Tagging {image[:19]} as {repository}:{tag or 'latest'}"):
            self.api.tag(image, repository, tag=tag or None, force=True)

    def replace_tag(self, image_id: str, reference: str) -> None:
        """Point ``reference`` at ``image_id``; remove the image it pointed at if now untagged.

        This keeps superseded cache images from lingering as dangling ``<none>`` images.
        """
        repository, _, tag = reference.rpartition(":")
        previous = self.inspect_image(reference)
        self.tag_image(image_id, repository, tag)
        if previous is None or previous.id == image_id:
            return
        still = self.inspect_image(previous.id)
        if still is not None and not still.repo_tags:
            try:
                self.remove_image(previous.id)
            except EngineError:
                pass  # in use by a container or a child image: the engine keeps it

    def list_images(self, reference: str) -> list[dict[str, Any]]:
        """List images whose name matches ``reference`` (``repository`` or ``repo:tag``)."""
        with engine_errors("Listing images"):
            return self.api.images(name=reference)

    def import_image(self, source: Iterator[bytes] | bytes, *, repository: str = "",
                     tag: str = "", changes: list[str] | None = None,
                     platform: str = "") -> str:
        """Import a root filesystem tar as an image and return the image id."""
        data = source if isinstance(source, bytes) else b"".join(source)
        with engine_errors("Importing an image"):
            answer = self.api.import_image_from_data(
                data, repository=repository or None, tag=tag or None, changes=changes or None)
        for line in str(answer).splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "error" in message:
                raise EngineError(f"Importing an image failed: {message['error']}")
            if "status" in message and message["status"].startswith("sha256:"):
                return message["status"]
        if repository:
            info = self.inspect_image(f"{repository}:{tag or 'latest'}")
            if info:
                return info.id
        raise EngineError(f"Importing an image failed: unexpected engine response {answer!r}")

    def build_image(self, context_dir: str, *, dockerfile: str, buildargs: dict[str, str],
                    pull: bool = True, platform: str | None = None, compress: bool = False,
                    result: dict[str, str] | None = None) -> Iterator[str]:
        """Run a classic ``docker build``, yielding its output lines; ``result["id"]`` is set.

        ``compress`` sends the build context gzip-compressed, as ``docker build --compress``.
        The engine reports build failures inside the stream, so every message is checked.
        """
        with engine_errors(f"Building an image from {dockerfile!r}"):
            stream = self.api.build(path=context_dir, dockerfile=dockerfile, buildargs=buildargs,
                                    pull=pull, platform=platform, gzip=compress, rm=True,
                                    forcerm=True, decode=True)
            for message in stream:
                if "errorDetail" in message or "error" in message:
                    detail = (message.get("errorDetail") or {}).get("message") or \
                        message.get("error")
                    raise EngineError(f"Building an image from {dockerfile!r} failed: {detail}")
                if "stream" in message:
                    for line in message["stream"].splitlines():
                        if line.strip():
                            yield line
                aux = message.get("aux") or {}
                if aux.get("ID") and result is not None:
                    result["id"] = aux["ID"]

    def save_image(self, reference: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream ``docker save`` of an image."""
        with engine_errors(f"Saving image {reference!r}"):
            response = self.api.get_image(reference, chunk_size=chunk_size)
            yield from response

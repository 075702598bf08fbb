"""The contenders: each builds the same N-step image on the same engine and returns its image id.

* ``nbdocker_build``: ``nbdocker.api.build`` as a notebook or script calls it.
* ``raw_floor``: the docker SDK with the fewest calls that do the same work: create and
  start a container, one archive upload and one exec per step, commit, remove.
* ``packer_replay``: the docker CLI commands Packer's docker builder runs for the same
  template (pull and inspects, ``docker run``, per step ``docker cp`` plus three
  ``docker exec``, inspect, commit, kill, rm), one process each, in order.
* ``dockerfile_build``: ``docker build --no-cache`` of the equivalent Dockerfile.

Callers remove the images these return, outside the timed part.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import tempfile
import uuid

import docker

from nbdocker import api as nbdocker_api
from nbdocker.build.events import StepFinished

from workload import IMAGE, dockerfile_text, step_script

#: Packer's shell provisioner prefixes every script with these variables (sorted).
PACKER_VARIABLES = "PACKER_BUILDER_TYPE='docker' PACKER_BUILD_NAME='docker'"


class BenchError(RuntimeError):
    """A contender failed, so its time would mean nothing."""


# -- nbdocker --------------------------------------------------------------------------------


def nbdocker_build(text: str, *, cache: bool, expect: list[str] | None = None) -> str:
    """Build ``text`` through the Python API; check the provisioner step statuses.

    ``expect`` lists the status every provisioner step must end with, in order.
    """
    events: list = []
    artifacts = nbdocker_api.build(text, cache=cache, view=events.append)
    if expect is not None:
        statuses = [event.status for event in events if isinstance(event, StepFinished)
                    and event.step.startswith("shell")]
        if statuses != expect:
            raise BenchError(f"nbdocker step statuses {statuses} differ from {expect}")
    return artifacts[0].id


# -- the docker SDK floor ------------------------------------------------------------------


def _script_archive(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def raw_floor(client: docker.APIClient, count: int, *, pull: bool) -> str:
    """Do the build's work with the fewest Engine API calls that keep one exec per step."""
    if pull:
        repository, _, tag = IMAGE.partition(":")
        for _ in client.pull(repository, tag=tag, stream=True, decode=True):
            pass
    base = client.inspect_image(IMAGE)["Config"]
    container = client.create_container(IMAGE, entrypoint=["/bin/sh"], stdin_open=True,
                                        tty=True)["Id"]
    try:
        client.start(container)
        for index in range(count):
            name = f"step_{index}.sh"
            client.put_archive(container, "/tmp", _script_archive(name, step_script(index)))
            exec_id = client.exec_create(
                container, ["/bin/sh", "-c",
                            f"(/tmp/{name}); status=$?; rm -f /tmp/{name}; exit $status"])["Id"]
            for _ in client.exec_start(exec_id, stream=True, demux=True):
                pass
            status = client.exec_inspect(exec_id)["ExitCode"]
            if status != 0:
                raise BenchError(f"floor step {index} exited with {status}")
        return client.commit(container, conf={"Cmd": base.get("Cmd"), "Entrypoint": []})["Id"]
    finally:
        client.remove_container(container, force=True)


# -- Packer's docker CLI sequence ------------------------------------------------------------


def _docker(*arguments: str, check: bool = True, env: dict | None = None) -> str:
    """Run one docker CLI command with standard input closed; return its output."""
    result = subprocess.run(["docker", *arguments], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        raise BenchError(f"docker {' '.join(arguments[:2])} failed: {result.stderr.strip()}")
    return result.stdout


def _commit_changes(config: dict) -> list[str]:
    """Return the ``--change`` arguments Packer derives from the base image's config."""
    changes = []
    if config.get("Cmd"):
        changes += ["--change", f"CMD {json.dumps(config['Cmd'])}"]
    changes += ["--change", f"ENTRYPOINT {json.dumps(config.get('Entrypoint') or [])}"]
    return changes


def packer_replay(count: int, *, pull: bool) -> str:
    """Run the docker CLI commands ``packer build`` runs for this template, in order."""
    _docker("-v")
    if pull:
        _docker("pull", IMAGE)
    _docker("inspect", "-f", "{{.Id}}", IMAGE)
    _docker("inspect", "-f", "{{index .RepoDigests 0}}", IMAGE, check=False)
    with tempfile.TemporaryDirectory(prefix="packer-") as shared:
        container = _docker("run", "-v", f"{shared}:/packer-files", "-d", "-i", "-t",
                            "--entrypoint=/bin/sh", "--", IMAGE).strip()
        try:
            _docker("inspect", "-f", "{{.Config.User}}", container)
            _docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", container)
            for index in range(count):
                remote = f"/tmp/script_{index}.sh"
                handle = tempfile.NamedTemporaryFile(dir=shared, prefix="upload", delete=False)
                with handle:
                    handle.write(step_script(index))
                _docker("cp", handle.name, f"{container}:{remote}")
                os.unlink(handle.name)
                _docker("exec", "-i", container, "/bin/sh", "-c", f"(chmod 0755 {remote})")
                _docker("exec", "-i", container, "/bin/sh", "-c",
                        f"(chmod +x {remote}; {PACKER_VARIABLES} {remote})")
                _docker("exec", "-i", container, "/bin/sh", "-c", f"(rm -f {remote})")
            config = json.loads(_docker("inspect", "-f", "{{json .Config}}", IMAGE))
            image = _docker("commit", *_commit_changes(config), container).strip()
            _docker("inspect", "-f", "{{.Id}}", image)
            return image
        finally:
            _docker("kill", container, check=False)
            _docker("rm", container, check=False)


# -- docker build --------------------------------------------------------------------------


def buildkit_available() -> bool:
    """Tell whether ``DOCKER_BUILDKIT=1 docker build`` works here (it needs buildx)."""
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "Dockerfile"), "w") as handle:
            handle.write(f"FROM {IMAGE}\n")
        result = subprocess.run(["docker", "build", "-q", folder], capture_output=True,
                                text=True, env={**os.environ, "DOCKER_BUILDKIT": "1"})
    return result.returncode == 0


def dockerfile_build(count: int, *, pull: bool, buildkit: bool) -> str:
    """Run ``docker build --no-cache`` of the equivalent Dockerfile; return the image tag."""
    tag = f"nbdocker-bench/dockerfile:{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="dockerfile-") as folder:
        with open(os.path.join(folder, "Dockerfile"), "w") as handle:
            handle.write(dockerfile_text(count))
        _docker("build", "--no-cache", *(["--pull"] if pull else []), "-t", tag, folder,
                env={**os.environ, "DOCKER_BUILDKIT": "1" if buildkit else "0"})
    return tag


# -- push ----------------------------------------------------------------------------------


def image_of_size(client: docker.APIClient, megabytes: int) -> str:
    """Commit busybox plus a file of random bytes (so no layer is already in a registry)."""
    container = client.create_container(IMAGE, entrypoint=["/bin/true"])["Id"]
    try:
        content = os.urandom(megabytes * 1024 * 1024)
        client.put_archive(container, "/", _script_archive("payload.bin", content))
        return client.commit(container)["Id"]
    finally:
        client.remove_container(container, force=True)


def nbdocker_push(reference: str) -> None:
    """Push with ``nbdocker.push``."""
    import nbdocker

    nbdocker.push(reference)


def docker_push(reference: str) -> None:
    """Push with ``docker push``."""
    _docker("push", reference)


def sdk_push(client: docker.APIClient, reference: str) -> None:
    """Push with the docker SDK's ``APIClient.push``, reading its progress stream to the end."""
    repository, _, tag = reference.rpartition(":")
    for message in client.push(repository, tag, stream=True, decode=True):
        if "error" in message:
            raise BenchError(f"push of {reference} failed: {message['error']}")


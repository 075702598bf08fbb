"""Post-processors and Packer's artifact chain.

Each sequence starts from the builder's artifact; the output of one step is the input of
the next. An input artifact is destroyed (image removed, file deleted) unless the step
keeps it. Unlike Packer, a failed first step keeps the builder's image instead of
removing it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from typing import Callable

from ..engine.images import parse_reference
from ..engine.progress import AuthenticationRequired
from ..errors import BuildFailed, Interrupted, UserError
from ..template import mask as mask_text
from ..template.model import Component
from .artifacts import ARTIFICE_ID, CHECKSUM_ID, EXPORT_ID, IMPORT_ID, TAG_ID, Artifact
from .context import BuildContext
from .host_commands import run_shell_local
from .transfer import push_image

_MANIFEST_LOCK = threading.Lock()

#: Default ``keep_input_artifact`` per post-processor, and whether the default is forced.
KEEP_DEFAULTS: dict[str, tuple[bool, bool]] = {
    "docker-tag": (True, True),
    "docker-push": (True, False),
    "docker-import": (False, False),
    "docker-save": (True, False),
    "manifest": (True, True),
    "checksum": (True, True),
    "shell-local": (True, True),
    "artifice": (True, False),
}


def keeps_input(component: Component) -> bool:
    """Return whether this step keeps its input artifact."""
    default, forced = KEEP_DEFAULTS.get(component.type, (True, False))
    if forced or component.keep_input_artifact is None:
        return default
    return bool(component.keep_input_artifact)


def _require_image(ctx: BuildContext, component: Component, artifact: Artifact) -> None:
    # Any artifact that carries an image qualifies, so checksum, manifest and shell-local
    # between docker-tag and docker-push or docker-save keep the chain working.
    if not artifact.image_id:
        raise ctx.failure(
            f"{component.type} ({component.path}) needs an image, but its input is "
            f"{artifact.describe()!r}; use commit: true, or docker-import first")


# -- the post-processors ------------------------------------------------------------------


def docker_tag(ctx: BuildContext, component: Component, artifact: Artifact) -> Artifact:
    """Tag the image as ``repository:tag`` for each tag (``latest`` with none)."""
    _require_image(ctx, component, artifact)
    repository = component.config["repository"]
    tags = list(component.config.get("tags") or [])
    if not tags:
        # As with `docker tag ID repo[:tag]`, the repository may carry the tag itself.
        reference = parse_reference(repository, what="repository")
        repository, tags = reference.repository, [reference.tag or "latest"]
    names = []
    for tag in tags:
        ctx.say(f"Tagging image: {artifact.image_id[:19]} as {repository}:{tag}")
        ctx.engine.tag_image(artifact.image_id, repository, tag)
        names.append(f"{repository}:{tag}")
    return Artifact(build=ctx.build.name, builder_id=TAG_ID, id=names[-1],
                    image_id=artifact.image_id, tags=names, data=dict(artifact.data))


def _push_auth(component: Component) -> dict[str, str] | None:
    config = component.config
    if not config.get("login"):
        return None
    return {"username": config.get("login_username") or "",
            "password": config.get("login_password") or "",
            "serveraddress": config.get("login_server") or ""}


def docker_push(ctx: BuildContext, component: Component, artifact: Artifact) -> Artifact:
    """Push every tag of the image, with per-call credentials (never a global login)."""
    _require_image(ctx, component, artifact)
    if not artifact.tags:
        raise ctx.failure(
            f"docker-push ({component.path}) got an untagged image {artifact.image_id[:19]}; "
            "put a docker-tag post-processor before it in the same sequence")
    digest = ""
    for name in artifact.tags:
        ctx.say(f"Pushing: {name}")
        try:
            digest = push_image(ctx, name, login=_push_auth(component)) or digest
        except AuthenticationRequired as err:
            hint = ("Check login_username and login_password." if component.config.get("login")
                    else "Or set login, login_username and login_password in this docker-push.")
            raise ctx.failure(f"docker-push ({component.path}) failed: {err} {hint}") from err
    data = {**artifact.data, "Digest": digest}
    ctx.data["Digest"] = digest
    return Artifact(build=ctx.build.name, builder_id=artifact.builder_id, id=artifact.id,
                    image_id=artifact.image_id, tags=list(artifact.tags), data=data)


def docker_import(ctx: BuildContext, component: Component, artifact: Artifact) -> Artifact:
    """Import an exported root filesystem tar as an image."""
    if artifact.builder_id == IMPORT_ID:
        raise ctx.failure(f"docker-import ({component.path}): the build already committed "
                          "an image (commit: true); remove docker-import or use export_path")
    if not artifact.files:
        raise ctx.failure(f"docker-import ({component.path}) needs an exported file as input")
    config = component.config
    repository, tag = config.get("repository") or "", config.get("tag") or ""
    ctx.say(f"Importing image: {artifact.files[0]} as {repository}:{tag or 'latest'}")
    with open(artifact.files[0], "rb") as handle:
        image_id = ctx.engine.import_image(handle.read(), repository=repository, tag=tag,
                                           changes=list(config.get("changes") or []),
                                           platform=config.get("platform") or "")
    name = f"{repository}:{tag or 'latest'}" if repository else image_id
    ctx.say(f"Imported ID: {image_id}")
    return Artifact(build=ctx.build.name, builder_id=IMPORT_ID, id=name, image_id=image_id,
                    tags=[name] if repository else [])


def docker_save(ctx: BuildContext, component: Component, artifact: Artifact) -> Artifact:
    """Save the image with ``docker save`` to ``path``."""
    _require_image(ctx, component, artifact)
    path = ctx.render(component.config["path"])
    reference = artifact.tags[0] if artifact.tags else artifact.image_id
    ctx.say(f"Saving image {reference} to {path}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        with open(path, "wb") as handle:
            for chunk in ctx.engine.save_image(reference):
                handle.write(chunk)
    except BaseException:
        if os.path.exists(path):
            os.unlink(path)
        raise
    return artifact


def manifest(ctx: BuildContext, component: Component, artifact: Artifact) -> Artifact:
    """Append this build's entry to the manifest JSON file."""
    config = component.config
    path = ctx.render(config.get("output") or "packer-manifest.json")
    files = []
    for name in artifact.files:
        size = os.path.getsize(name) if os.path.exists(name) else 0
        files.append({"name": os.path.basename(name) if config.get("strip_path") else name,
                      "size": size})
    custom = {key: mask_text(ctx.render(str(value), **artifact.data), ctx.secrets)
              for key, value in (config.get("custom_data") or {}).items()}
    entry = {
        "name": ctx.build.name,
        "builder_type": ctx.build.type,
        "build_time": 0 if config.get("strip_time") else int(time.time()),
        "files": files,
        "artifact_id": artifact.id,
        "packer_run_uuid": ctx.data["PackerRunUUID"],
        "custom_data": custom,
    }
    # Parallel builds may share one manifest: read, append and write under one lock.
    # NOTE: the lock covers the builds of this process only; Packer also locks against
    # other processes with a <output>.lock file.
    with _MANIFEST_LOCK:
        document = {"builds": [], "last_run_uuid": ""}
        if os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as handle:
                    document = json.load(handle)
            except ValueError as err:
                raise ctx.failure(f"Manifest {path!r} is not valid JSON ({err}); "
                                  "fix or delete it") from err
        document.setdefault("builds", []).append(entry)
        document["last_run_uuid"] = ctx.data["PackerRunUUID"]
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
    ctx.say(f"Wrote manifest entry to {path}")
    return artifact


def checksum(ctx: BuildContext, component: Component, artifact: Artifact) -> Artifact:
    """Write checksum files for the artifact's files."""
    config = component.config
    written = []
    kinds = config.get("checksum_types") or ["md5"]
    if not artifact.files:
        # Like Packer: an image has no files, so no checksum file is written.
        ctx.say(f"Nothing to checksum: {artifact.describe()} has no files")
        kinds = []
    for kind in kinds:
        output = ctx.render(config.get("output") or
                            "packer_{{.BuildName}}_{{.BuilderType}}_{{.ChecksumType}}.checksum",
                            BuildName=ctx.build.name, BuilderType=ctx.build.type,
                            ChecksumType=kind)
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        with open(output, "a", encoding="utf-8") as handle:
            for name in artifact.files:
                digest = hashlib.new(kind)
                with open(name, "rb") as source:
                    for block in iter(lambda: source.read(1 << 20), b""):
                        digest.update(block)
                handle.write(f"{digest.hexdigest()}\t{os.path.basename(name)}\n")
        written.append(output)
    return Artifact(build=ctx.build.name, builder_id=CHECKSUM_ID, id=artifact.id,
                    image_id=artifact.image_id, tags=list(artifact.tags),
                    files=[*artifact.files, *written], data=dict(artifact.data))


def shell_local(ctx: BuildContext, component: Component, artifact: Artifact) -> Artifact:
    """Run a host command after the build; the artifact passes through unchanged."""
    run_shell_local(ctx, component.config, data=dict(artifact.data))
    return artifact


def artifice(ctx: BuildContext, component: Component, artifact: Artifact) -> Artifact:
    """Turn the listed host files into the artifact."""
    files = [ctx.render(name) for name in component.config.get("files") or []]
    missing = [name for name in files if not os.path.exists(name)]
    if missing:
        raise ctx.failure(f"artifice ({component.path}): files not found: {missing}")
    return Artifact(build=ctx.build.name, builder_id=ARTIFICE_ID, id=", ".join(files),
                    files=files)


POST_PROCESSORS: dict[str, Callable[[BuildContext, Component, Artifact], Artifact]] = {
    "docker-tag": docker_tag,
    "docker-push": docker_push,
    "docker-import": docker_import,
    "docker-save": docker_save,
    "manifest": manifest,
    "checksum": checksum,
    "shell-local": shell_local,
    "artifice": artifice,
}


# -- the chain ----------------------------------------------------------------------------


def destroy(ctx: BuildContext, artifact: Artifact) -> None:
    """Remove an artifact that no step kept: every tag of its image, or its files."""
    if artifact.builder_id in (IMPORT_ID, TAG_ID) and artifact.image_id:
        # Removing each tag, not only the artifact id (the last tag), leaves no stray names.
        for reference in artifact.tags or [artifact.image_id]:
            ctx.say(f"Deleting artifact: {reference}")
            try:
                ctx.engine.remove_image(reference, force=False)
            except UserError as err:
                ctx.warn(f"Could not remove {reference}: {err}")
        return
    if artifact.builder_id in (EXPORT_ID, ARTIFICE_ID):
        for name in artifact.files:
            if os.path.isdir(name) and not os.path.islink(name):
                ctx.say(f"Deleting artifact: {name}")
                shutil.rmtree(name)
            elif os.path.lexists(name):
                ctx.say(f"Deleting artifact: {name}")
                os.unlink(name)


def run_post_processors(ctx: BuildContext, builder_artifact: Artifact
                        ) -> tuple[list[Artifact], list[BuildFailed]]:
    """Run every sequence; return the artifacts to report and the errors of failed sequences.

    After an interrupt the remaining steps are skipped and nothing is destroyed; the caller
    checks ``ctx.cancel`` to tell.
    """
    sequences = ctx.build.post_processors
    if not sequences:
        return [builder_artifact], []
    keep_builder = False
    first_failed = False
    interrupted = False
    results: list[Artifact] = []
    errors: list[BuildFailed] = []
    for sequence in sequences:
        if interrupted:
            break
        current = builder_artifact
        for position, component in enumerate(sequence):
            step_name = f"{component.label} ({component.path})"
            try:
                with ctx.step(step_name, kind="post-processor"):
                    ctx.say(f"Running post-processor: {component.label}")
                    produced = POST_PROCESSORS[component.type](ctx, component, current)
            except Interrupted:
                # No further step runs, and what exists so far is kept and listed. The
                # caller sees the cancelled run and reports the build as interrupted.
                interrupted = True
                results.append(current)
                break
            except BuildFailed as err:
                errors.append(err)
                first_failed = first_failed or position == 0
                break
            except UserError as err:
                errors.append(ctx.failure(f"{step_name} failed: {err}"))
                first_failed = first_failed or position == 0
                break
            except OSError as err:
                # A host path that the template names (docker-save path, manifest or
                # checksum output) could not be written or read: report it, not a traceback.
                reason = f"{err.strerror}: {err.filename!r}" if err.filename else str(err)
                errors.append(ctx.failure(f"{step_name} failed: {reason}"))
                first_failed = first_failed or position == 0
                break
            keep = keeps_input(component)
            if position == 0:
                keep_builder = keep_builder or keep
            elif keep:
                results.append(current)
            elif current is not produced:
                destroy(ctx, current)
            current = produced
        else:
            results.append(current)
            continue
        # The failed step's input still exists (nothing destroyed it), so report it.
        results.append(current)

    # Unlike Packer, the builder's artifact stays when a first step failed, or when a
    # step that passes its input through (docker-save, manifest ...) made it a result.
    kept = (keep_builder or first_failed or interrupted
            or any(item is builder_artifact for item in results))
    if not kept:
        destroy(ctx, builder_artifact)
    listed = [builder_artifact] if kept else []
    for item in results:
        # A pass-through step returns its input, which may be listed already.
        if not any(item is seen for seen in listed):
            listed.append(item)
    return listed, errors

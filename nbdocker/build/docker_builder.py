"""The docker builder: pull, start a container, provision, commit/export/discard, clean up.

It follows Packer's lifecycle through the Engine API. Unlike Packer it mounts no host
folder (so no empty ``/packer-files`` is left in images), keeps the base image's CMD and
ENTRYPOINT unless ``changes`` set them, and can provision images without ``/bin/sh``
with file uploads.
"""

from __future__ import annotations

import os
import time
from typing import Any

from ..engine.containers import build_container_name
from ..errors import BuildFailed, EngineError, Interrupted, UserError
from ..template.model import Component
from . import cache
from .artifacts import EXPORT_ID, IMPORT_ID, Artifact
from .changes import ChangeError, apply_changes
from .context import BuildContext
from .events import StepFinished, StepStarted
from .provisioners import run_provisioner, wait_cancellable
from .shell_session import close_shell_session
from .run_command import RunCommandError, parse_run_command
from .transfer import pull_image

#: A step that ran at least this long is committed as a cache checkpoint (seconds); a
#: cheaper step costs less to re-run than a commit (about 70 ms) would save.
CHECKPOINT_SECONDS = 0.5
#: Stands in for the container id while cache keys are computed before the container exists.
PENDING_ID = "nbdocker-pending-container-id"

#: Image config fields a commit starts from, so the build container's own settings
#: (its /bin/sh entrypoint, its labels) never leak into the image.
IMAGE_CONFIG_FIELDS = ("Cmd", "Entrypoint", "Env", "WorkingDir", "User", "ExposedPorts",
                       "Volumes", "Labels", "StopSignal", "Healthcheck", "OnBuild", "Shell")


class DockerBuilder:
    """Runs one build of the ``docker`` builder and returns its artifact."""

    def __init__(self, ctx: BuildContext):
        self.ctx = ctx
        self.config = ctx.build.builder.config
        self.image = self.config.get("image") or ""
        self.image_id = ""
        self.start_image = ""
        self.bootstrap_image = ""
        self.has_shell = True
        self.keys: list[cache.StepKey] = []
        self.cached_steps = 0
        self.final_key = ""
        self.final_hit = ""

    # -- the whole build -------------------------------------------------------------------

    def run(self) -> Artifact:
        """Run every step; the container is removed whatever happens, unless aborting."""
        failed: BaseException | None = None
        try:
            self.prepare_image()
            self.plan_cache()
            if self.final_hit:
                return self.reuse_final()
            self.start_container()
            self.provision()
            return self.finish()
        except BaseException as err:
            failed = err
            raise
        finally:
            self.cleanup(failed)

    # -- steps ---------------------------------------------------------------------------

    def prepare_image(self) -> None:
        """Pull the base image (unless ``pull`` is false) and read its id and config."""
        ctx = self.ctx
        platform = self.config.get("platform") or None
        if self.config.get("build"):
            self.bootstrap(platform)
        elif self.config.get("pull", True):
            with ctx.step(f"pull {self.image}", kind="pull"):
                ctx.say(f"Pulling Docker image: {self.image}")
                pull_image(ctx, self.image, platform=platform, login=self.login_auth())
        info = ctx.engine.inspect_image(self.image)
        if info is None:
            hint = "" if self.config.get("pull", True) else \
                ' Set "pull": true or pull it first (%docker_pull).'
            raise BuildFailed(f"Image {self.image!r} is not present in the engine.{hint}",
                              build=ctx.build.name, step="pull")
        self.image_id = info.id
        ctx.base_config = {key: info.config.get(key) for key in IMAGE_CONFIG_FIELDS}
        ctx.data["SourceImageSha256"] = info.id
        ctx.data["SourceImageDigest"] = info.repo_digests[0] if info.repo_digests else ""

    def plan_cache(self) -> None:
        """Compute the step keys and find the longest cached prefix of provisioners."""
        ctx = self.ctx
        self.start_image = self.image_id
        if not ctx.use_cache and not ctx.write_cache:
            return
        ctx.data["ID"] = PENDING_ID
        try:
            start = cache.base_key(self.image_id, self.config, ctx.cache_namespace,
                                   build=f"{ctx.build.name}.{ctx.build.type}")
            run_values = [PENDING_ID, ctx.data["PackerRunUUID"]]
            self.keys = cache.step_keys(ctx.build.provisioners, start, ctx.render, run_values)
            last = self.keys[-1].key if self.keys else start
            if last and self.config.get("commit"):
                changes = [ctx.render(change) for change in self.config.get("changes") or []]
                self.final_key = cache.final_key(last, changes, self.config.get("author") or "",
                                                 self.config.get("message") or "",
                                                 run_values=run_values) or ""
        finally:
            ctx.data["ID"] = ""
        if not ctx.use_cache:
            return
        if self.final_key:
            hit = ctx.engine.inspect_image(cache.reference(self.final_key, ctx.cache_namespace))
            if hit is not None:
                self.final_hit = hit.id
                return
        # One listing of the cache repository replaces an inspect per step.
        tagged = {tag: image["Id"] for image in ctx.engine.list_images(cache.CACHE_REPOSITORY)
                  for tag in image.get("RepoTags") or []}
        for index in range(len(self.keys) - 1, -1, -1):
            key = self.keys[index].key
            if not key:
                continue
            hit = tagged.get(cache.reference(key, ctx.cache_namespace))
            if hit is not None:
                self.cached_steps = index + 1
                self.start_image = hit
                return

    def mark_cached(self, names: list[str]) -> None:
        """Report steps that were skipped because the cache had their result."""
        for name in names:
            self.ctx.step_index += 1
            self.ctx.emit(StepStarted(name, index=self.ctx.step_index, kind="provision"))
            self.ctx.emit(StepFinished(name, status="cached"))

    def reuse_final(self) -> Artifact:
        """Return the image a previous identical build committed, without a container."""
        ctx = self.ctx
        self.mark_cached(["start container"]
                         + [f"{p.label} ({p.path})" for p in ctx.build.provisioners]
                         + ["commit"])
        ctx.say(f"Reusing cached image {self.final_hit} (nothing changed since it was built)")
        ctx.data["ImageSha256"] = self.final_hit
        return Artifact(build=ctx.build.name, builder_id=IMPORT_ID, id=self.final_hit,
                        image_id=self.final_hit, data=dict(ctx.data))

    def checkpoint(self, index: int, duration: float) -> None:
        """Commit the container as a cache checkpoint after step ``index`` when worth it."""
        ctx = self.ctx
        key = self.keys[index].key if index < len(self.keys) else None
        last = len(ctx.build.provisioners) - 1
        if not key or not ctx.write_cache or not self.has_shell and not ctx.container_started:
            return
        if self.bootstrap_image and self.config.get("discard"):
            # Cleanup removes this bootstrap image, which the engine refuses while a
            # checkpoint image is its child; its next build gets a new id anyway.
            return
        if duration < CHECKPOINT_SECONDS and index != last - 1:
            return
        config = dict(ctx.base_config)
        if not config.get("Entrypoint"):
            config["Entrypoint"] = []
        image_id = ctx.engine.commit(ctx.container_id, config=config)
        ctx.engine.replace_tag(image_id, cache.reference(key, ctx.cache_namespace))

    def bootstrap(self, platform: str | None) -> None:
        """Build the base image from the ``build`` block's Dockerfile, streaming its output."""
        ctx = self.ctx
        settings = self.config["build"]
        dockerfile = settings["path"]
        context_dir = settings.get("build_dir") or os.path.dirname(dockerfile) or "."
        with ctx.step("build base image", kind="pull"):
            ctx.say(f"Building base image from {dockerfile}")
            result: dict[str, str] = {}
            for line in ctx.engine.build_image(
                    context_dir, dockerfile=dockerfile,
                    buildargs={str(k): str(v) for k, v in
                               (settings.get("arguments") or {}).items()},
                    pull=settings.get("pull", True) is not False, platform=platform,
                    compress=bool(settings.get("compress")), result=result):
                ctx.output(line)
                ctx.check_cancelled()
            if not result.get("id"):
                raise ctx.failure(f"Building the base image from {dockerfile!r} produced no "
                                  "image id")
        self.image = result["id"]
        self.bootstrap_image = result["id"]

    def login_auth(self) -> dict[str, str] | None:
        """Return per-call registry credentials when the builder sets ``login``."""
        if not self.config.get("login"):
            return None
        return {"username": self.config.get("login_username") or "",
                "password": self.config.get("login_password") or "",
                "serveraddress": self.config.get("login_server") or ""}

    def create_options(self) -> tuple[str, dict[str, Any]]:
        """Return the image and create options from ``run_command`` and the builder options."""
        ctx, config = self.ctx, self.config
        arguments = [ctx.render(str(part), Image=self.start_image or self.image_id) for part in
                     config.get("run_command") or
                     ["-d", "-i", "-t", "--entrypoint=/bin/sh", "--", "{{.Image}}"]]
        try:
            parsed = parse_run_command(arguments)
        except RunCommandError as err:
            raise BuildFailed(f"{err} ({ctx.build.builder.path}.run_command)",
                              build=ctx.build.name, step="start container") from err
        options = dict(parsed.options)
        if "entrypoint" in options:
            options["entrypoint"] = [options["entrypoint"]]
        if parsed.command:
            options["command"] = parsed.command
        binds = list(options.pop("binds", []))
        for host, container in (config.get("volumes") or {}).items():
            binds.append(f"{os.path.expanduser(host)}:{container}")
        if binds:
            options["binds"] = binds
        for key, option in (("privileged", "privileged"), ("cap_add", "cap_add"),
                            ("cap_drop", "cap_drop"), ("device", "devices"),
                            ("runtime", "runtime"), ("platform", "platform")):
            if config.get(key):
                options[option] = config[key]
        if config.get("tmpfs"):
            options["tmpfs"] = {entry.partition(":")[0]: entry.partition(":")[2]
                                for entry in config["tmpfs"]}
        options.setdefault("name", build_container_name(
            ctx.run_label, ctx.build.name, os.environ.get("NBDOCKER_SESSION", "")))
        return parsed.image, options

    def start_container(self) -> None:
        """Create the build container and start it when the image has the entrypoint's shell."""
        ctx = self.ctx
        with ctx.step("start container", kind="start"):
            image, options = self.create_options()
            ctx.say("Starting docker container...")
            ctx.container_id = ctx.engine.create_container(image, **options)
            ctx.data["ID"] = ctx.container_id
            entrypoint = (options.get("entrypoint") or [""])[0]
            if entrypoint and ctx.engine.stat_path(ctx.container_id, entrypoint) is None:
                # No shell: the container stays created but stopped; uploads and commit
                # still work through the archive API.
                self.has_shell = False
                ctx.warn(f"{entrypoint} does not exist in {self.image}: the container is not "
                         "started, so only file uploads can provision it")
                return
            ctx.engine.start(ctx.container_id)
            ctx.container_started = True
            state = ctx.engine.container_state(ctx.container_id)
            if not state.get("Running"):
                raise ctx.failure(
                    f"The build container exited at once with status {state.get('ExitCode')}; "
                    "run_command must keep it running (e.g. -d -i -t with a shell entrypoint)")
            ctx.say(f"Container ID: {ctx.container_id[:12]}")
            pause = float(self.config.get("pause_before_connecting") or 0)
            if pause:
                ctx.say(f"Pausing {pause:g}s before provisioning...")
                wait_cancellable(ctx, pause)

    def provision(self) -> None:
        """Run each provisioner in order; with ``-on-error=ask`` a failure may retry them all."""
        ctx = self.ctx
        provisioners = ctx.build.provisioners
        self.mark_cached([f"{p.label} ({p.path})" for p in provisioners[:self.cached_steps]])
        while True:
            try:
                for index in range(self.cached_steps, len(provisioners)):
                    component = provisioners[index]
                    if not self.has_shell and component.type == "shell":
                        raise BuildFailed(
                            f"The shell provisioner ({component.path}) needs /bin/sh, which "
                            f"{self.image} does not have; use file provisioners for this image",
                            build=ctx.build.name, step=component.path)
                    started = time.monotonic()
                    try:
                        run_provisioner(ctx, component)
                    except (BuildFailed, EngineError) as err:
                        stopped = self.stopped_container_failure(component)
                        if stopped is None:
                            raise
                        raise stopped from err
                    self.checkpoint(index, time.monotonic() - started)
                close_shell_session(ctx)
                return
            except BuildFailed as err:
                if ctx.on_error != "ask" or ctx.ask is None:
                    raise
                answer = _ask_after_failure(ctx, err)
                if answer == "r":
                    continue
                if answer == "a":
                    ctx.on_error = "abort"
                raise

    def stopped_container_failure(self, component: Component) -> BuildFailed | None:
        """Return a failure naming the stopped build container, or None while it runs.

        A container whose entrypoint ends at once (``run_command`` without ``-i``, or an
        entrypoint that is not a shell) can still be running when ``start_container``
        checks it. Its first step then fails with an engine message that does not say why.
        """
        ctx = self.ctx
        if not ctx.container_started or not ctx.container_id:
            return None
        try:
            state = ctx.engine.container_state(ctx.container_id)
        except EngineError:
            return None  # removed, e.g. by a timeout: the step's own error says why
        if state.get("Running"):
            return None
        return BuildFailed(
            f"The build container stopped with exit status {state.get('ExitCode')} before "
            f"{component.path} finished; a script may have stopped it, or run_command does "
            "not keep it running (e.g. -d -i -t with a shell entrypoint)",
            build=ctx.build.name, step=f"{component.label} ({component.path})")

    def finish(self) -> Artifact:
        """Commit, export or discard the container and return the builder's artifact."""
        ctx, config = self.ctx, self.config
        if config.get("commit"):
            with ctx.step("commit", kind="commit"):
                ctx.say("Committing the container")
                changes = [ctx.render(change) for change in config.get("changes") or []]
                try:
                    image_config, maintainer = apply_changes(ctx.base_config, changes)
                except ChangeError as err:
                    raise ctx.failure(f"Invalid changes entry in "
                                      f"{ctx.build.builder.path}.changes: {err}") from err
                if not image_config.get("Entrypoint"):
                    # NB: the engine fills a missing (null) Entrypoint from the build
                    # container, whose entrypoint is /bin/sh; an empty list keeps it empty.
                    image_config["Entrypoint"] = []
                image_id = ctx.engine.commit(
                    ctx.container_id, config=image_config,
                    author=config.get("author") or maintainer,
                    message=config.get("message") or "")
                ctx.say(f"Image ID: {image_id}")
                if self.final_key and ctx.write_cache:
                    ctx.engine.replace_tag(image_id,
                                           cache.reference(self.final_key, ctx.cache_namespace))
            ctx.data["ImageSha256"] = image_id
            return Artifact(build=ctx.build.name, builder_id=IMPORT_ID, id=image_id,
                            image_id=image_id, data=dict(ctx.data))
        if config.get("export_path"):
            path = config["export_path"]
            with ctx.step("export", kind="export"):
                ctx.say(f"Exporting the container to {path}")
                self.export(path)
            return Artifact(build=ctx.build.name, builder_id=EXPORT_ID, id="Container",
                            files=[path], data=dict(ctx.data))
        ctx.say("Discarding the container")
        return Artifact(build=ctx.build.name, builder_id=EXPORT_ID, id="Container",
                        data=dict(ctx.data))

    def export(self, path: str) -> None:
        """Write ``docker export`` of the container to ``path``; remove a partial file on failure."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        try:
            with open(path, "wb") as handle:
                for chunk in self.ctx.engine.export(self.ctx.container_id):
                    handle.write(chunk)
                    self.ctx.check_cancelled()
        except BaseException:
            if os.path.exists(path):
                os.unlink(path)
            raise

    def remove_bootstrap_image(self) -> None:
        """Remove the image built from the ``build`` block (only with ``discard``, as Packer)."""
        ctx = self.ctx
        if ctx.container_id:
            ctx.engine.remove_container(ctx.container_id)
            ctx.container_id = None
        ctx.say(f"Removing the bootstrap image {self.bootstrap_image[:19]}")
        _remove_quietly(ctx, self.bootstrap_image)

    # -- failure and cleanup -------------------------------------------------------------

    def cleanup(self, failed: BaseException | None) -> None:
        """Run the error-cleanup provisioner and remove the container, as ``-on-error`` says."""
        ctx = self.ctx
        mode = ctx.on_error
        # Like Packer, an interrupt skips the error-cleanup provisioner: the run removes the
        # container at once (or, with abort, leaves it untouched), so it could not run.
        step_failed = isinstance(failed, UserError) and not isinstance(failed, Interrupted)
        if step_failed and ctx.build.error_cleanup_provisioner and ctx.container_started \
                and mode != "abort":
            ctx.say("Provisioning step had errors: running the cleanup provisioner")
            try:
                run_provisioner(_without_cancel(ctx), ctx.build.error_cleanup_provisioner)
            except Exception as err:  # noqa: BLE001 - reported, the original error wins
                ctx.warn(f"Cleanup provisioner failed: {err}")
        close_shell_session(ctx)
        if self.bootstrap_image and self.config.get("discard") and \
                not (failed is not None and mode in ("abort", "run-cleanup-provisioner")):
            self.remove_bootstrap_image()
        if ctx.container_id is None:
            return
        if failed is not None and mode in ("abort", "run-cleanup-provisioner"):
            ctx.warn(f"Leaving container {ctx.container_id[:12]} in place (-on-error={mode}); "
                     f"remove it with: docker rm -f {ctx.container_id[:12]}")
            return
        ctx.say(f"Killing the container: {ctx.container_id[:12]}")
        ctx.engine.remove_container(ctx.container_id)


def _ask_after_failure(ctx: BuildContext, err: BuildFailed) -> str:
    """Ask what to do after a failed step, as Packer does; return ``c``, ``a`` or ``r``.

    The answer's first letter counts, an empty answer means ``c``, and any other answer
    repeats the question.
    """
    choices = "[c] Clean up and exit, [a] abort without cleanup, or [r] retry step"
    prompt = f"Step failed: {err}\n{choices}"
    while True:
        answer = ctx.ask(prompt).strip().lower()
        if not answer or answer[0] in "car":
            return answer[:1] or "c"
        prompt = f"Invalid answer {answer!r}: type c, a or r.\n{choices}"


def _remove_quietly(ctx: BuildContext, image: str) -> None:
    try:
        ctx.engine.remove_image(image, force=True)
    except UserError as err:
        ctx.warn(f"Could not remove the bootstrap image {image[:19]}: {err}")


def _without_cancel(ctx: BuildContext) -> BuildContext:
    """Return ``ctx`` with a fresh cancel flag, so cleanup work can run after an interrupt."""
    import copy
    import threading

    clone = copy.copy(ctx)
    clone.cancel = threading.Event()
    return clone

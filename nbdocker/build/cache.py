"""The step cache: re-running an unchanged build reuses committed images instead of working.

Each provisioner gets a key: a SHA-256 over the previous step's key and the step's fully
rendered content (inline text, script and uploaded file contents, environment, execute
command, user). The first key starts from the base image id and the builder options that
shape the container, so a changed base image invalidates every step, and a changed step
invalidates the steps after it.

Cache entries are tags ``nbdocker-cache:<key>`` on ordinary images, so they are never
dangling and ``docker images`` shows them under one repository. Two kinds exist:

* checkpoints: the container committed after a step, with the base image's config;
* finals: the build's committed image, reused whole when nothing changed.

Steps whose result depends on the run itself (a download to the host, a host command, a
breakpoint, or text that reads the container id or run id) end the cacheable prefix.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Iterable

from ..template.model import Component

CACHE_REPOSITORY = "nbdocker-cache"
#: Steps that touch the host or wait for a person: never cached, and they end the prefix.
UNCACHEABLE = {"shell-local", "breakpoint"}
#: Options that do not change what a step leaves in the container.
IGNORED_OPTIONS = {"remote_file", "remote_path", "pause_after", "start_retry_timeout",
                   "expect_disconnect", "timeout", "pause_before", "max_retries"}
#: Builder options that shape the build container, and so every step's result.
BUILDER_OPTIONS = ("run_command", "exec_user", "volumes", "privileged", "cap_add", "cap_drop",
                   "device", "tmpfs", "runtime", "platform", "fix_upload_owner", "pty")


def _digest(*parts: Any) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(json.dumps(part, sort_keys=True, default=str).encode())
        hasher.update(b"\0")
    return hasher.hexdigest()


def hash_path(path: str) -> str:
    """Hash a host file or directory tree: names, modes, link targets and contents."""
    hasher = hashlib.sha256()
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                full = os.path.join(root, name)
                relative = os.path.relpath(full, path)
                stat = os.lstat(full)
                hasher.update(f"{relative}\0{stat.st_mode}\0".encode())
                if os.path.islink(full):
                    hasher.update(os.readlink(full).encode())
                elif os.path.isfile(full):
                    hasher.update(_file_digest(full).encode())
        return hasher.hexdigest()
    if os.path.isfile(path):
        return f"{os.stat(path).st_mode}:{_file_digest(path)}"
    return "missing"


def _file_digest(path: str) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


@dataclass
class StepKey:
    """A step's cache key, or ``None`` when the step cannot be cached."""

    component: Component
    key: str | None


def base_key(image_id: str, builder_config: dict[str, Any], namespace: str = "") -> str:
    """Return the key every step key chains from."""
    options = {name: builder_config.get(name) for name in BUILDER_OPTIONS}
    return _digest("nbdocker-cache-v1", namespace, image_id, options)


def step_content(component: Component, render) -> Any | None:
    """Return the rendered content that decides a step's result, or None if uncacheable.

    ``render(text)`` renders run-time template text with the build's data.
    """
    config = component.config
    if component.type in UNCACHEABLE:
        return None
    if component.type == "file" and config.get("direction") == "download":
        return None
    content: dict[str, Any] = {"type": component.type}
    for name, value in sorted(config.items()):
        if name in IGNORED_OPTIONS:
            continue
        if name == "inline" and isinstance(value, list):
            value = [render(line) for line in value]
        elif name in ("execute_command", "destination") and isinstance(value, str):
            value = render(value)
        content[name] = value
    for name in ("script", "source"):
        if config.get(name):
            content[f"{name}@content"] = hash_path(config[name])
    for name in ("scripts", "sources"):
        if config.get(name):
            content[f"{name}@content"] = [hash_path(path) for path in config[name]]
    return content


def step_keys(components: Iterable[Component], start: str, render,
              run_values: Iterable[str]) -> list[StepKey]:
    """Chain keys over the steps; the first uncacheable step ends the chain.

    ``run_values`` are strings unique to this run (container id, run id): a step whose
    rendered content contains one of them is uncacheable.
    """
    markers = [value for value in run_values if value]
    keys: list[StepKey] = []
    previous: str | None = start
    for component in components:
        content = step_content(component, render) if previous else None
        if content is not None and markers:
            text = json.dumps(content, default=str)
            if any(marker in text for marker in markers):
                content = None
        previous = _digest(previous, content) if content is not None and previous else None
        keys.append(StepKey(component, previous))
    return keys


def final_key(last: str, changes: list[str], author: str, message: str) -> str:
    """Return the key of the committed image made from the last step's state."""
    return _digest(last, "commit", changes, author, message)


def reference(key: str) -> str:
    """Return the cache tag of a key."""
    return f"{CACHE_REPOSITORY}:{key[:64]}"


@dataclass
class CacheEntry:
    """One cache tag: its key, the image it names, when it was made and its size."""

    key: str
    image_id: str
    created: int
    size: int


def list_entries(engine) -> list[CacheEntry]:
    """Return every cache entry in the engine, newest first."""
    entries = []
    for image in engine.list_images(CACHE_REPOSITORY):
        for tag in image.get("RepoTags") or []:
            repository, _, key = tag.rpartition(":")
            if repository == CACHE_REPOSITORY:
                entries.append(CacheEntry(key, image["Id"], image.get("Created", 0),
                                          image.get("Size", 0)))
    return sorted(entries, key=lambda entry: entry.created, reverse=True)


def prune(engine) -> list[CacheEntry]:
    """Remove every cache tag (and each image left with no tag); return what was removed."""
    entries = list_entries(engine)
    for entry in entries:
        engine.remove_image(reference(entry.key))
    return entries

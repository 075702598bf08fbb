"""Copying files into and out of the build container, owned as ``fix_upload_owner`` says."""

from __future__ import annotations

import os
import posixpath

from .archive import Owner, file_archive, missing_parents, tree_archive
from .context import BuildContext


def upload_owner(ctx: BuildContext) -> Owner:
    """Return the uid and gid uploads should belong to.

    With ``fix_upload_owner`` that is the container's configured user, resolved through the
    container's /etc/passwd and /etc/group; otherwise root.
    """
    if ctx.upload_owner is not None:
        return Owner(*ctx.upload_owner)
    owner = Owner()
    user_spec = (ctx.base_config.get("User") or "").strip()
    if ctx.build.builder.config.get("fix_upload_owner", True) and user_spec \
            and user_spec not in ("root", "0", "0:0"):
        owner = resolve_user(ctx, user_spec)
    ctx.upload_owner = (owner.uid, owner.gid)
    return owner


def _read_container_file(ctx: BuildContext, path: str) -> str:
    try:
        tar = ctx.engine.get_archive(ctx.container_id, path)
    except Exception:  # noqa: BLE001 - a missing passwd file means numeric ids only
        return ""
    member = next((m for m in tar.getmembers() if m.isfile()), None)
    handle = tar.extractfile(member) if member else None
    return handle.read().decode("utf-8", "replace") if handle else ""


def resolve_user(ctx: BuildContext, spec: str) -> Owner:
    """Resolve ``user[:group]`` (names or numbers) inside the container."""
    user, _, group = spec.partition(":")
    passwd = [line.split(":") for line in _read_container_file(ctx, "/etc/passwd").splitlines()]
    uid = gid = None
    for fields in passwd:
        if len(fields) >= 4 and (fields[0] == user or fields[2] == user):
            uid, gid = int(fields[2]), int(fields[3])
            break
    if uid is None:
        if not user.isdigit():
            raise ctx.failure(f"Upload owner {user!r} (the image's USER) is not in the "
                              "container's /etc/passwd; set exec_user or fix the image's USER")
        uid, gid = int(user), int(user)
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            groups = [line.split(":") for line in
                      _read_container_file(ctx, "/etc/group").splitlines()]
            found = next((int(f[2]) for f in groups if len(f) >= 3 and f[0] == group), None)
            if found is None:
                raise ctx.failure(f"Upload group {group!r} is not in the container's /etc/group")
            gid = found
    return Owner(uid, gid if gid is not None else uid)


def deepest_existing(ctx: BuildContext, directory: str) -> str:
    """Return ``directory`` or its nearest ancestor that exists in the container."""
    current = posixpath.normpath(directory)
    if current in ctx.known_directories:
        return current
    while current != "/" and ctx.engine.stat_path(ctx.container_id, current) is None:
        current = posixpath.dirname(current)
    # NOTE: a script that deletes a folder nbdocker uploaded into makes this memo stale;
    # the next upload there then fails with the engine's "not found".
    ctx.known_directories.add(current)
    return current


def upload_bytes(ctx: BuildContext, destination: str, content: bytes, *, mode: int = 0o644,
                 mtime: float | None = None) -> None:
    """Write ``content`` to the file ``destination`` in the container, creating parents."""
    directory, name = posixpath.split(destination)
    directory = directory or "/"
    existing = deepest_existing(ctx, directory)
    relative_parents = missing_parents(existing, directory)
    relative_name = posixpath.join(relative_parents[-1], name) if relative_parents else name
    data = file_archive(relative_name, content, mode=mode, owner=upload_owner(ctx),
                        mtime=mtime, parents=relative_parents)
    ctx.engine.put_archive(ctx.container_id, existing, data)
    ctx.known_directories.add(posixpath.normpath(directory))


def upload_directory(ctx: BuildContext, source: str, destination: str) -> None:
    """Copy a host directory into the container with ``docker cp``'s rules.

    ``src/`` copies the contents into ``destination``; ``src`` copies the directory itself
    into ``destination`` when that exists, and becomes ``destination`` when it does not.
    """
    destination = posixpath.normpath(destination)
    contents_only = source.endswith(("/", os.sep))
    exists = ctx.engine.stat_path(ctx.container_id, destination) is not None
    if exists and not contents_only:
        target = posixpath.join(destination, os.path.basename(os.path.normpath(source)))
    else:
        target = destination
    parent = posixpath.dirname(target) or "/"
    existing = deepest_existing(ctx, parent)
    parents = missing_parents(existing, parent)
    prefix = posixpath.relpath(target, existing)
    data = tree_archive(os.path.normpath(source), prefix, owner=upload_owner(ctx), parents=parents)
    ctx.engine.put_archive(ctx.container_id, existing, data)

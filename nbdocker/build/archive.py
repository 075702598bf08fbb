"""Tar archives for copying files into and out of containers through the engine's archive API.

Uploads never go through a bind mount or a shell in the container: each upload is one tar
archive extracted by the engine, with the owner set in the tar headers, so no ``chown`` runs
afterwards and images without ``/bin/sh`` can still receive files.
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
import time
from dataclasses import dataclass


@dataclass
class Owner:
    """Numeric owner to write into tar headers."""

    uid: int = 0
    gid: int = 0


def _info(name: str, *, mode: int, mtime: float, owner: Owner, kind: bytes,
          size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = int(mtime)
    info.uid, info.gid = owner.uid, owner.gid
    info.size = size
    info.linkname = linkname
    return info


def file_archive(name: str, content: bytes, *, mode: int = 0o644, owner: Owner | None = None,
                 mtime: float | None = None, parents: list[str] | None = None) -> bytes:
    """Return a tar holding one file ``name`` (relative path) with ``content``.

    ``parents`` lists relative directories to create first (for missing parent folders).
    """
    owner = owner or Owner()
    mtime = time.time() if mtime is None else mtime
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for parent in parents or []:
            tar.addfile(_info(parent, mode=0o755, mtime=mtime, owner=owner, kind=tarfile.DIRTYPE))
        tar.addfile(_info(name, mode=mode, mtime=mtime, owner=owner, kind=tarfile.REGTYPE,
                          size=len(content)), io.BytesIO(content))
    return buffer.getvalue()


def tree_archive(source: str, prefix: str, *, owner: Owner | None = None,
                 parents: list[str] | None = None) -> bytes:
    """Return a tar of the host directory ``source`` with its contents under ``prefix``.

    ``prefix`` is the relative directory the contents land in ("" for the extraction
    folder itself). Symlinks are kept as links; empty directories are kept.
    """
    owner = owner or Owner()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for parent in parents or []:
            tar.addfile(_info(parent, mode=0o755, mtime=time.time(), owner=owner,
                              kind=tarfile.DIRTYPE))
        if prefix:
            stat = os.stat(source)
            tar.addfile(_info(prefix, mode=stat.st_mode & 0o7777, mtime=stat.st_mtime,
                              owner=owner, kind=tarfile.DIRTYPE))
        for root, dirs, files in os.walk(source):
            dirs.sort()
            relative_root = os.path.relpath(root, source)
            for name in sorted(dirs) + sorted(files):
                path = os.path.join(root, name)
                relative = posixpath.normpath(posixpath.join(
                    prefix, relative_root.replace(os.sep, "/"), name))
                stat = os.lstat(path)
                mode = stat.st_mode & 0o7777
                if os.path.islink(path):
                    tar.addfile(_info(relative, mode=0o777, mtime=stat.st_mtime, owner=owner,
                                      kind=tarfile.SYMTYPE, linkname=os.readlink(path)))
                elif os.path.isdir(path):
                    tar.addfile(_info(relative, mode=mode, mtime=stat.st_mtime, owner=owner,
                                      kind=tarfile.DIRTYPE))
                else:
                    with open(path, "rb") as handle:
                        tar.addfile(_info(relative, mode=mode, mtime=stat.st_mtime, owner=owner,
                                          kind=tarfile.REGTYPE, size=stat.st_size), handle)
    return buffer.getvalue()


def missing_parents(existing: str, target_dir: str) -> list[str]:
    """Return the folders between ``existing`` and ``target_dir``, relative to ``existing``.

    >>> missing_parents("/opt", "/opt/app/conf")
    ['app', 'app/conf']
    """
    relative = posixpath.relpath(target_dir, existing)
    if relative == ".":
        return []
    parts = relative.split("/")
    return ["/".join(parts[: index + 1]) for index in range(len(parts))]


def extract_to_host(tar: tarfile.TarFile, destination: str, *, into_directory: bool) -> list[str]:
    """Write a downloaded archive to the host and return the paths written.

    With ``into_directory`` the archive's top entry is written inside ``destination``;
    otherwise a single file archive is written to ``destination`` itself and a directory
    archive becomes ``destination``.
    """
    members = tar.getmembers()
    if not members:
        return []
    top = members[0].name.split("/")[0]
    written: list[str] = []
    for member in members:
        relative = member.name
        if not into_directory:
            relative = posixpath.relpath(relative, top)
        target = os.path.normpath(os.path.join(destination, relative)) if relative != "." \
            else os.path.normpath(destination)
        if not os.path.abspath(target).startswith(os.path.abspath(destination)):
            raise ValueError(f"unsafe path {member.name!r} in archive")
        if member.isdir():
            os.makedirs(target, exist_ok=True)
        elif member.issym():
            os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
            if os.path.lexists(target):
                os.remove(target)
            os.symlink(member.linkname, target)
        elif member.isfile():
            os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
            source = tar.extractfile(member)
            with open(target, "wb") as handle:
                handle.write(source.read() if source else b"")
            os.chmod(target, member.mode & 0o7777)
        else:
            continue
        written.append(target)
    return written

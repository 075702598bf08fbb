"""Artifacts: what a build or a post-processor produced, as Packer describes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Builder ids, spelled as Packer spells them, which decide what a post-processor accepts.
IMPORT_ID = "packer.post-processor.docker-import"
EXPORT_ID = "packer.docker"
TAG_ID = "packer.post-processor.docker-tag"
ARTIFICE_ID = "packer.post-processor.artifice"
CHECKSUM_ID = "packer.post-processor.checksum"


@dataclass
class Artifact:
    """One artifact: an image (``image_id`` set) or files on the host.

    ``id`` is Packer's artifact id: the image id for a commit, the last ``repo:tag`` after
    docker-tag, ``Container`` for an export. ``data`` is the shared build data
    (``ImageSha256``, ``Digest`` ...).
    """

    build: str
    builder_id: str
    id: str
    image_id: str = ""
    tags: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    builder_type: str = "docker"

    @property
    def is_image(self) -> bool:
        """True when the artifact is an image in the engine."""
        return bool(self.image_id)

    def describe(self) -> str:
        """Return Packer's one-line description of the artifact."""
        if self.builder_id == EXPORT_ID:
            path = self.files[0] if self.files else ""
            return f'Exported Docker file: "{path}"' if path else "Discarded container"
        if self.image_id:
            text = f"Imported Docker image: {self.image_id}"
            if self.tags:
                text += " with tags " + " ".join(self.tags)
            return text
        if self.files:
            return "Files: " + ", ".join(self.files)
        return self.id

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary (used by ``-o NAME`` and manifests)."""
        return {
            "build": self.build,
            "builder_type": self.builder_type,
            "builder_id": self.builder_id,
            "id": self.id,
            "image_id": self.image_id,
            "tags": list(self.tags),
            "files": list(self.files),
        }

    def __str__(self) -> str:
        return self.describe()

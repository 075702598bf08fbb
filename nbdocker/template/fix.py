"""Rewrite deprecated docker options the way ``packer fix`` does.

Two of Packer's fixers concern Docker templates:

- ``docker-email`` removes ``login_email`` (Docker dropped the e-mail from ``docker login``).
- ``docker-tag-tags`` renames docker-tag's ``tag`` to ``tags``, merging both lists.

Unlike ``packer fix``, the output keeps the template's key order, and ``login_email`` is
removed even from templates without post-processors.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import Problem, TemplateError
from .json_format import parse


def fix_text(text: str, display: str) -> str:
    """Return ``text`` with the fixers applied, as JSON indented by two spaces."""
    duplicates: list[Problem] = []
    root = parse(text, display, duplicates)
    if duplicates:
        raise TemplateError(duplicates)
    document = root.plain()
    if isinstance(document, dict):
        fix_document(document)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def fix_document(document: dict[str, Any]) -> None:
    """Apply the docker fixers to a template's plain data, in place."""
    for builder in _objects(document.get("builders")):
        if str(builder.get("type", "")).startswith("docker"):
            builder.pop("login_email", None)

    for post_processor in _post_processors(document.get("post-processors")):
        kind = post_processor.get("type")
        if isinstance(kind, str) and kind.startswith("docker"):
            post_processor.pop("login_email", None)
        if kind == "docker-tag" and "tag" in post_processor:
            _rename_tag(post_processor)


def _objects(value: Any) -> list[dict]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _post_processors(value: Any) -> list[dict]:
    """Flatten the post-processor definitions (objects and sequences of objects)."""
    if not isinstance(value, list):
        return []
    found = []
    for item in value:
        if isinstance(item, dict):
            found.append(item)
        elif isinstance(item, list):
            found.extend(element for element in item if isinstance(element, dict))
    return found


def _as_tags(value: Any) -> list[str]:
    if isinstance(value, str):
        return [piece.strip() for piece in value.split(",") if piece.strip()]
    if isinstance(value, list):
        return [str(item) for item in value if isinstance(item, (str, int, float))]
    return []


def _rename_tag(post_processor: dict[str, Any]) -> None:
    """Replace ``tag`` by ``tags`` where ``tag`` stood, keeping each tag once."""
    merged = list(dict.fromkeys([*_as_tags(post_processor.get("tag")),
                                 *_as_tags(post_processor.get("tags"))]))
    rebuilt: dict[str, Any] = {}
    for key, value in post_processor.items():
        if key == "tag":
            rebuilt["tags"] = merged
        elif key != "tags":
            rebuilt[key] = value
    post_processor.clear()
    post_processor.update(rebuilt)

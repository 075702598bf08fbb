"""Check image references, repositories and tags against Docker's reference grammar.

The grammar is the one of the distribution/reference package that Docker uses:

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [ domain "/" ] path-component [ "/" path-component ]*
    domain     := host [ ":" port ]
    path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
    digest     := algorithm ":" hex   (e.g. sha256:<64 hex digits>)

Packer's docker plugin passes these strings to the docker CLI without checking them, so a
stray space fails only when the build reaches ``docker pull`` or ``docker tag``. Here the
mistake is found at load time and the message proposes the corrected value.
"""

from __future__ import annotations

import re

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*", re.ASCII)
DOMAIN_RE = re.compile(_DOMAIN, re.ASCII)
TAG_RE = re.compile(_TAG, re.ASCII)
DIGEST_RE = re.compile(_DIGEST, re.ASCII)

#: Docker rejects names longer than this.
MAX_NAME_LENGTH = 255


def split_reference(value: str) -> tuple[str, str, str]:
    """Split ``name[:tag][@digest]`` into its three parts (tag and digest may be empty)."""
    name, _, digest = value.partition("@")
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    # A colon before the last slash belongs to a registry port, not to a tag.
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest


def _name_error(name: str) -> str | None:
    if not name:
        return "the repository name is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"the repository name is longer than {MAX_NAME_LENGTH} characters"
    first, slash, rest = name.partition("/")
    # Like Docker, treat the first component as a registry host when it looks like one.
    if slash and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if not DOMAIN_RE.fullmatch(first):
            return f"{first!r} is not a valid registry host[:port]"
        path = rest
    else:
        path = name
    if not PATH_RE.fullmatch(path):
        if path != path.lower():
            return "repository names must be lowercase"
        return ("each part of a repository path must be lowercase letters and digits, "
                "separated by '.', '_', '__' or '-', with '/' between parts")
    return None


def _tag_error(tag: str) -> str | None:
    if not TAG_RE.fullmatch(tag):
        return ("a tag is 1 to 128 letters, digits, '_', '.' or '-', and cannot start "
                "with '.' or '-'")
    return None


def image_error(value: str) -> str | None:
    """Return why ``value`` is not a valid image reference, or None when it is valid."""
    if any(c.isspace() for c in value):
        return "an image reference cannot contain spaces"
    name, tag, digest = split_reference(value)
    problem = _name_error(name)
    if problem is None and tag:
        problem = _tag_error(tag)
    elif problem is None and value.partition("@")[0].endswith(":"):
        problem = "the tag after ':' is empty"
    if problem is None and "@" in value and not DIGEST_RE.fullmatch(digest):
        problem = "a digest looks like sha256: followed by 64 hexadecimal digits"
    return problem


def repository_error(value: str) -> str | None:
    """Return why ``value`` is not a valid repository (``name`` or ``name:tag``), or None."""
    if any(c.isspace() for c in value):
        return "a repository cannot contain spaces"
    if "@" in value:
        return "a repository cannot contain a digest ('@...')"
    name, tag, _ = split_reference(value)
    problem = _name_error(name)
    if problem is None and tag:
        problem = _tag_error(tag)
    elif problem is None and value.endswith(":"):
        problem = "the tag after ':' is empty"
    return problem


def tag_error(value: str) -> str | None:
    """Return why ``value`` is not a valid tag, or None."""
    if any(c.isspace() for c in value):
        return "a tag cannot contain spaces"
    return _tag_error(value)


def suggest(value: str, kind: str) -> str | None:
    """Propose a corrected ``image``, ``repository`` or ``tag`` value, or None.

    Removes whitespace and lowercases the repository path (tags may keep their case).
    The proposal is returned only if it passes the same check.
    """
    candidate = "".join(value.split())
    if kind == "tag":
        return candidate if candidate != value and tag_error(candidate) is None else None
    name, tag, digest = split_reference(candidate)
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        name = f"{first.lower()}/{rest.lower()}"
    else:
        name = name.lower()
    candidate = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    check = image_error if kind == "image" else repository_error
    if candidate == value or check(candidate) is not None:
        return None
    return candidate


def check(value: str, kind: str) -> str | None:
    """Return an error message for a bad ``image``/``repository``/``tag`` value, or None.

    Values that still contain ``{{`` depend on build data and are not checked.
    """
    if "{{" in value:
        return None
    error = {"image": image_error, "repository": repository_error, "tag": tag_error}[kind](value)
    if error is None:
        return None
    noun = {"image": "image reference", "repository": "repository", "tag": "tag"}[kind]
    message = f"invalid {noun} {value!r}: {error}"
    proposal = suggest(value, kind)
    if proposal is not None:
        message += f"; did you mean {proposal!r}?"
    return message

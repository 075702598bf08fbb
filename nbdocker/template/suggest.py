"""Did-you-mean suggestions and name lists for messages about misspelled keys, types and names."""

from __future__ import annotations

import difflib
from typing import Iterable


def _normalize(word: str) -> str:
    return word.lower().replace("-", "_").replace(" ", "")


def close_matches(word: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Return up to ``limit`` candidates that look like ``word``, closest first.

    A candidate that differs only in case, hyphens or underscores comes first
    (``post_processors`` for ``post-processors``). Then come candidates whose difflib
    ratio is at least 0.6 and within 0.1 of the best one, so that a clear winner is
    suggested alone.
    """
    candidates = [c for c in dict.fromkeys(candidates) if c != word]
    normalized = _normalize(word)
    same = [c for c in candidates if _normalize(c) == normalized]
    scored = sorted(((difflib.SequenceMatcher(None, normalized, _normalize(c)).ratio(), c)
                     for c in candidates if c not in same), key=lambda pair: -pair[0])
    good = [(ratio, c) for ratio, c in scored if ratio >= 0.6]
    fuzzy = [c for ratio, c in good if ratio >= good[0][0] - 0.1] if good else []
    return (same + fuzzy)[:limit]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` (or ``'x' or 'y'``) for close matches, else ``""``."""
    matches = close_matches(word, candidates)
    if not matches:
        return ""
    if len(matches) == 1:
        return f"; did you mean {matches[0]!r}?"
    quoted = [repr(m) for m in matches]
    return f"; did you mean {', '.join(quoted[:-1])} or {quoted[-1]}?"


def quote_list(names: Iterable[str], conjunction: str = "and") -> str:
    """Format names as ``'a', 'b' and 'c'`` (or ``... or 'c'``) for messages."""
    quoted = [repr(n) for n in names]
    if not quoted:
        return "none"
    if len(quoted) == 1:
        return quoted[0]
    return f"{', '.join(quoted[:-1])} {conjunction} {quoted[-1]}"


def sentences(*parts: str) -> str:
    """Join message parts into sentences, ending each part with a period if it has no stop."""
    joined: list[str] = []
    for part in parts:
        if not part:
            continue
        if joined and not joined[-1].endswith((".", "?", "!")):
            joined[-1] += "."
        joined.append(part)
    return " ".join(joined)


def suggest(name: str, candidates: Iterable[str]) -> str:
    """Return "; did you mean 'x'?" for the candidates closest to name, or "".

    The template engine's messages use this. Unlike ``did_you_mean``, it ranks candidates
    with difflib.get_close_matches on the names as written.
    """
    candidates = list(candidates)
    matches = [c for c in candidates if c.lower() == name.lower() and c != name]
    matches += [c for c in difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
                if c not in matches]
    if not matches:
        return ""
    quoted = [repr(m) for m in matches[:3]]
    choices = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"; did you mean {choices}?"


def _list_names(names: Iterable[str], limit: int = 20) -> str:
    names = sorted(names)
    listed = ", ".join(names[:limit])
    if len(names) > limit:
        listed += f" and {len(names) - limit} more"
    return listed

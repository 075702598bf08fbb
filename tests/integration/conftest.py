"""Fixtures for integration tests that build images: removal of the images they make."""

from __future__ import annotations

import pytest

from nbdocker.build import cache


def remove_cache_entries(engine) -> None:
    """Remove the step cache entries of this test's namespace."""
    for entry in cache.list_entries(engine, cache.current_namespace()):
        engine.remove_image(entry.reference, force=True)


@pytest.fixture
def images(engine):
    """Images to remove after the test, children after their parents (removed last first)."""
    created: list[str] = []
    yield created
    remove_cache_entries(engine)
    for image in reversed(created):
        engine.remove_image(image, force=True)


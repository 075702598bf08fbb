"""The build tutorial really builds the web server image it describes."""

from __future__ import annotations

import pytest

from .conftest import NOTEBOOKS

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def tutorial(executed, engine):
    notebook, workdir = executed(NOTEBOOKS / "01-build-an-image.ipynb")
    yield notebook
    engine.remove_image("hello-web:1.0", force=True)


def outputs_text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
            parts.append(output.get("evalue", ""))
    return "\n".join(parts)


def test_tutorial_builds_tagged_image(tutorial, engine):
    info = engine.api.inspect_image("hello-web:1.0")
    assert info["Config"]["Cmd"] == ["nginx", "-g", "daemon off;"]
    assert "80/tcp" in info["Config"]["ExposedPorts"]


def test_tutorial_page_is_served(tutorial):
    assert "Hello from an image built in a notebook" in outputs_text(tutorial)


def test_tutorial_validation_names_fixes(tutorial):
    text = outputs_text(tutorial)
    assert "debian:bookworm" in text
    assert "hello/web" in text


def test_tutorial_prints_built_line(tutorial):
    assert "Built: hello-web:1.0" in outputs_text(tutorial)

"""Every tutorial notebook runs top to bottom against the real engine."""

from __future__ import annotations

import pytest

from .conftest import all_notebooks

pytestmark = pytest.mark.engine


def cell_errors(notebook) -> list[str]:
    """Errors of cells that are not tagged ``raises-exception``."""
    errors = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or "raises-exception" in cell.metadata.get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                errors.append(f"cell {index}: {output.ename}: {output.evalue}")
    return errors


def expected_failures_failed(notebook) -> list[int]:
    """Indexes of ``raises-exception`` cells that did not fail (they should)."""
    missing = []
    for index, cell in enumerate(notebook.cells):
        if "raises-exception" in cell.metadata.get("tags", []):
            if not any(o.output_type == "error" for o in cell.get("outputs", [])):
                missing.append(index)
    return missing


@pytest.mark.parametrize("path", all_notebooks(), ids=lambda p: str(p.relative_to(p.parents[1])))
def test_notebook_runs_without_errors(path, executed):
    notebook, _ = executed(path)
    assert cell_errors(notebook) == []
    assert expected_failures_failed(notebook) == []


def test_notebook_errors_have_no_traceback(executed):
    path = next(p for p in all_notebooks() if p.name == "01-build-an-image.ipynb")
    notebook, _ = executed(path)
    failed = [o for c in notebook.cells for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert failed
    for output in failed:
        assert "Traceback" not in "\n".join(output.traceback)
        assert len(output.traceback) < 10

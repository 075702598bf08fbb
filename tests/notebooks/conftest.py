"""Execute the tutorial notebooks with nbclient, once per session, in scratch folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def all_notebooks() -> list[Path]:
    """Every tutorial notebook, English and Spanish."""
    return sorted(NOTEBOOKS.rglob("*.ipynb"))


def execute(path: Path, workdir: Path) -> nbformat.NotebookNode:
    """Execute a notebook in ``workdir`` with widget state stored, as a saved notebook has it.

    The kernel gets its own Docker config folder and log folder, so a notebook that logs in
    never touches the user's ~/.docker/config.json.
    """
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}},
                            store_widget_state=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_CONFIG", str(workdir / ".docker"))
        patch.setenv("NBDOCKER_LOG_DIR", str(workdir / "logs"))
        client.execute()
    return notebook


@pytest.fixture(scope="session")
def executed(tmp_path_factory, lab):
    """Return a function that executes a notebook once and returns it with its folder."""
    cache: dict[Path, tuple[nbformat.NotebookNode, Path]] = {}

    def run(path: Path) -> tuple[nbformat.NotebookNode, Path]:
        if path not in cache:
            workdir = tmp_path_factory.mktemp(path.stem)
            for extra in path.parent.glob("*"):
                if extra.is_file() and extra.suffix != ".ipynb":
                    shutil.copy(extra, workdir)
            notebook = execute(path, workdir)
            nbformat.write(notebook, workdir / path.name)
            cache[path] = (notebook, workdir)
        return cache[path]

    return run

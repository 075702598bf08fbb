"""The publishing tutorial runs against the lab, pushes for real, and saves no secret."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from nbdocker.engine.credentials import Credentials
from nbdocker.registry import RegistryClient

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "02-publish-and-find.ipynb"


@pytest.fixture(scope="module")
def run(tmp_path_factory, lab):
    """Execute the tutorial once with a private DOCKER_CONFIG; save it with widget state."""
    workdir = tmp_path_factory.mktemp("publish-notebook")
    docker_config = workdir / "docker-config"
    registry, user = lab["NBDOCKER_LAB_REGISTRY"], lab["NBDOCKER_LAB_USER"]
    with pytest.MonkeyPatch.context() as patch:
        # The kernel inherits this environment: the lab's settings, config and log folders
        # of its own, and this checkout ahead of any installed nbdocker.
        for key, value in lab.items():
            patch.setenv(key, value)
        patch.setenv("DOCKER_CONFIG", str(docker_config))
        patch.setenv("NBDOCKER_LOG_DIR", str(workdir / "logs"))
        python_path = [str(ROOT), os.environ.get("PYTHONPATH", "")]
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, python_path)))
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(workdir)}},
                                store_widget_state=True)
        try:
            client.execute()
        finally:
            saved = workdir / NOTEBOOK.name
            nbformat.write(notebook, saved)

    yield notebook, saved, docker_config

    # The tutorial leaves its image in the registry, as a reader would; the test removes it.
    lab_login = Credentials(registry, user, lab["NBDOCKER_LAB_PASSWORD"])
    with RegistryClient(registry, credentials=lab_login) as client:
        digest = client.manifest_digest(f"{user}/hello", "1.0")
        if digest:
            client.delete_manifest(f"{user}/hello", digest)


def outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.extend(str(value) for value in output.get("data", {}).values())
    return "\n".join(parts)


def test_publish_notebook_cells_run(run):
    notebook, _, _ = run
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            assert len(errors) == 1, f"cell {index} should fail"
            assert "Traceback" not in "\n".join(errors[0].traceback)
        else:
            assert errors == [], f"cell {index}: {errors[0].ename}: {errors[0].evalue}"


def test_publish_notebook_pushed_image_is_in_registry(run, lab):
    notebook, _, _ = run
    printed = next(outputs_text(c) for c in notebook.cells if c.source == "print(pushed.digest)")
    digest = re.search(r"sha256:[0-9a-f]{64}", printed).group(0)
    registry, user = lab["NBDOCKER_LAB_REGISTRY"], lab["NBDOCKER_LAB_USER"]
    lab_login = Credentials(registry, user, lab["NBDOCKER_LAB_PASSWORD"])
    with RegistryClient(registry, credentials=lab_login) as client:
        assert client.manifest_digest(f"{user}/hello", "1.0") == digest
        assert client.tags(f"{user}/hello") == ["1.0"]


def test_publish_notebook_saved_file_has_no_password(run, lab):
    _, saved, _ = run
    text = saved.read_text()
    password = lab["NBDOCKER_LAB_PASSWORD"]
    assert password not in text
    encoded = base64.b64encode(f"{lab['NBDOCKER_LAB_USER']}:{password}".encode()).decode()
    assert encoded not in text


def test_publish_notebook_keeps_widget_state_and_static_summaries(run):
    notebook, _, _ = run
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert state
    push_cell = next(c for c in notebook.cells if c.source.startswith("%docker_push"))
    html = [o.data["text/html"] for o in push_cell.outputs if "text/html" in o.get("data", {})]
    assert any("digest sha256:" in text for text in html)


def test_publish_notebook_logs_out(run, lab):
    _, _, docker_config = run
    config = (docker_config / "config.json").read_text()
    assert lab["NBDOCKER_LAB_REGISTRY"] not in config


def test_publish_notebook_removes_local_tag(run, engine, lab):
    reference = f"{lab['NBDOCKER_LAB_REGISTRY']}/{lab['NBDOCKER_LAB_USER']}/hello:1.0"
    assert engine.inspect_image(reference) is None

"""Values of sensitive variables never reach events, logs, errors, manifests or notebooks."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

import nbdocker
from nbdocker.build.events import LogLine
from nbdocker.errors import BuildsFailed

pytestmark = pytest.mark.engine

SECRET = "s3cr3t-Value-93417"


def template(*, inline: list[str], post_processors=()) -> str:
    return json.dumps({
        "variables": {"api_key": SECRET},
        "sensitive-variables": ["api_key"],
        "builders": [{"type": "docker", "image": "busybox:latest", "discard": True}],
        "provisioners": [{"type": "shell", "inline": inline}],
        "post-processors": list(post_processors),
    })


def event_texts(events) -> str:
    return "\n".join(repr(event) for event in events)


def test_secret_masked_in_events_and_log(tmp_path, monkeypatch):
    monkeypatch.setenv("NBDOCKER_LOG_DIR", str(tmp_path))
    events = []
    nbdocker.build(template(inline=["echo key={{user `api_key`}}"]), view=events.append,
                   cache=False)
    lines = [e.text for e in events if isinstance(e, LogLine)]
    assert "key=<sensitive>" in lines
    assert SECRET not in event_texts(events)
    log = next(tmp_path.glob("build-*.log")).read_text()
    assert "key=<sensitive>" in log
    assert SECRET not in log


def test_secret_masked_in_failure_message(tmp_path, monkeypatch):
    monkeypatch.setenv("NBDOCKER_LOG_DIR", str(tmp_path))
    events = []
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(template(inline=["echo using {{user `api_key`}}", "exit 4"]),
                       view=events.append, cache=False)
    error = failure.value.errors["docker"]
    assert SECRET not in str(failure.value)
    assert SECRET not in "\n".join(error.tail)
    assert "using <sensitive>" in error.tail
    assert SECRET not in event_texts(events)


def test_secret_masked_in_manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("NBDOCKER_LOG_DIR", str(tmp_path))
    manifest = tmp_path / "manifest.json"
    nbdocker.build(template(inline=["true"], post_processors=[{
        "type": "manifest", "output": str(manifest),
        "custom_data": {"key": "{{user `api_key`}}"}}]), cache=False)
    text = manifest.read_text()
    assert SECRET not in text
    assert json.loads(text)["builds"][0]["custom_data"]["key"] == "<sensitive>"


def test_secret_absent_from_saved_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv("NBDOCKER_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("NBDOCKER_TEST_API_KEY", SECRET)
    body = json.loads(template(inline=["echo key={{user `api_key`}}"]))
    body["variables"]["api_key"] = "{{env `NBDOCKER_TEST_API_KEY`}}"
    failing = json.loads(json.dumps(body))
    failing["provisioners"][0]["inline"] = ["echo failing with {{user `api_key`}}", "exit 3"]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext nbdocker"),
        nbformat.v4.new_code_cell("%%packer --no-cache -o artifacts\n" + json.dumps(body)),
        nbformat.v4.new_code_cell("%%packer --no-cache\n" + json.dumps(failing)),
    ]
    notebook.cells[2].metadata["tags"] = ["raises-exception"]
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}},
                            store_widget_state=True)
    client.execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)
    saved = path.read_text()
    assert "key=&lt;sensitive&gt;" in saved or "key=<sensitive>" in saved
    assert "failing with" in saved
    assert SECRET not in saved

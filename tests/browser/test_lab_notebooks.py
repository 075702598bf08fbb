"""The tutorials in JupyterLab 4 and headless Chromium: widgets render and reach their end state.

Each test copies a notebook into the server's root folder, opens it, runs all cells and saves
it. It then checks the page: the build view's bar turns green, the image table has rows. It
also checks the saved file: no error output except in cells tagged ``raises-exception``. The build test saves a
screenshot of the build view to docs/screenshot-build.png for the README.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.engine]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
BUILD_TUTORIAL = NOTEBOOKS / "01-build-an-image.ipynb"
PUBLISH_TUTORIAL = NOTEBOOKS / "02-publish-and-find.ipynb"
SCREENSHOT = ROOT / "docs" / "screenshot-build.png"

# Seconds a whole notebook may take. The build tutorial installs nginx with apt-get, which took
# about 40 s with a cold step cache in the runs this limit was set from.
RUN_TIMEOUT = 150

KERNEL_IDLE = """() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.sessionContext && widget.sessionContext.session
                 && widget.sessionContext.session.kernel;
  return Boolean(kernel) && kernel.status === 'idle';
}"""

# NB: the kernel status and the "[*]" prompt do not show when a run ends. With widgets on the
# page, JupyterLab 4.6 reports the kernel "idle" and shows "[ ]:" while a long cell still runs.
# The kernel sends one execute_reply per cell (executed, failed or skipped), so these count.
RECORD_REPLIES = """() => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  window.nbdockerReplies = [];
  kernel.anyMessage.connect((_, args) => {
    if (args.direction === 'recv' && args.msg.header.msg_type === 'execute_reply') {
      window.nbdockerReplies.push(args.msg.content.status);
    }
  });
}"""

CODE_CELLS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(cell => cell.model.type === 'code').length"""

PROMPTS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
  .map(element => element.textContent.trim())"""


def open_notebook(page, server, name: str) -> None:
    """Open ``name`` from the server's root folder and wait until its kernel is idle."""
    page.goto(f"{server.url}/lab/tree/{name}?reset")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)


def run_all_cells(page) -> list[str]:
    """Run every cell, wait for a reply to each, and return the replies' statuses.

    A status is "ok", "error", or "aborted" for a cell skipped after an earlier error.
    """
    page.evaluate(RECORD_REPLIES)
    cells = page.evaluate(CODE_CELLS)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(f"() => window.nbdockerReplies.length >= {cells}",
                           timeout=RUN_TIMEOUT * 1000, polling=500)
    return page.evaluate("window.nbdockerReplies")


def save_and_read(page, path: Path) -> nbformat.NotebookNode:
    """Save the open notebook and return the saved file once it has outputs."""
    before = path.stat().st_mtime_ns
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    deadline = time.monotonic() + 30
    while path.stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.2)
    return nbformat.read(path, as_version=4)


def failed_untagged_cells(notebook, replies: list[str]) -> list[str]:
    """Code cells not tagged ``raises-exception`` whose execute_reply was not "ok"."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return [f"code cell {index}: {status}" for index, (cell, status) in
            enumerate(zip(code, replies))
            if status != "ok" and "raises-exception" not in cell.metadata.get("tags", [])]


def unexpected_errors(notebook) -> list[str]:
    """Error outputs of cells that are not tagged ``raises-exception``."""
    errors = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or "raises-exception" in cell.metadata.get("tags", []):
            continue
        errors += [f"cell {index}: {output.ename}: {output.evalue}"
                   for output in cell.get("outputs", []) if output.output_type == "error"]
    return errors


def expected_errors_missing(notebook) -> list[int]:
    """Indexes of cells tagged ``raises-exception`` that show no error."""
    return [index for index, cell in enumerate(notebook.cells)
            if "raises-exception" in cell.metadata.get("tags", [])
            and not any(o.output_type == "error" for o in cell.get("outputs", []))]


@pytest.fixture
def page(browser_session):
    page = browser_session.context.new_page()
    yield page
    page.close()


@pytest.fixture(scope="module")
def build_tutorial(lab_server, browser_session, engine):
    """The build tutorial run in the browser: (page, saved notebook, reply statuses)."""
    shutil.copy(BUILD_TUTORIAL, lab_server.root / BUILD_TUTORIAL.name)
    page = browser_session.context.new_page()
    open_notebook(page, lab_server, BUILD_TUTORIAL.name)
    replies = run_all_cells(page)
    saved = save_and_read(page, lab_server.root / BUILD_TUTORIAL.name)
    yield page, saved, replies
    page.close()
    engine.remove_image("hello-web:1.0", force=True)


def test_browser_build_tutorial_runs_every_cell(build_tutorial):
    page, saved, replies = build_tutorial
    assert failed_untagged_cells(saved, replies) == []
    assert all(prompt.strip("[]: ").isdigit() for prompt in page.evaluate(PROMPTS))


def test_browser_build_tutorial_errors_only_where_tagged(build_tutorial):
    _page, saved, _replies = build_tutorial
    assert unexpected_errors(saved) == []
    assert expected_errors_missing(saved) == []


def test_browser_build_bar_turns_green(build_tutorial):
    page, _saved, _replies = build_tutorial
    bar = page.locator(".nbdocker-view .nbdocker-progress .progress-bar-success")
    assert bar.count() >= 1
    assert bar.first.is_visible()


def test_browser_build_header_ok(build_tutorial):
    page, _saved, _replies = build_tutorial
    assert page.locator(".nbdocker-view .nbdocker-header .nbdocker-status-ok").count() == 1
    assert page.locator(".nbdocker-view .nbdocker-status-failed").count() == 0


def test_browser_build_steps_and_summary_shown(build_tutorial):
    page, _saved, _replies = build_tutorial
    assert page.locator(".nbdocker-summary").count() == 1
    steps = page.locator(".nbdocker-summary .nbdocker-steps").first.inner_text()
    assert "shell (provisioners[0])" in steps
    assert "commit" in steps


def test_browser_log_tail_scrolled_to_last_line(build_tutorial):
    page, _saved, _replies = build_tutorial
    tail = page.locator(".nbdocker-view .nbdocker-log").first
    box = tail.locator("div").first.bounding_box()
    last = tail.locator("pre span").last.bounding_box()
    assert box is not None
    assert last is not None
    assert last["y"] >= box["y"]
    assert last["y"] + last["height"] <= box["y"] + box["height"] + 1


def test_browser_build_screenshot(build_tutorial):
    page, _saved, _replies = build_tutorial
    # A viewport taller than the output, so that the notebook panel does not cut it.
    page.set_viewport_size({"width": 1100, "height": 2400})
    cell = page.locator(".jp-CodeCell", has=page.locator(".nbdocker-view")).first
    output = cell.locator(".jp-Cell-outputWrapper")
    output.scroll_into_view_if_needed()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    output.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


def test_browser_no_request_left_loopback(build_tutorial, browser_session):
    assert browser_session.blocked == []


# -- the image table -------------------------------------------------------------------------------

def image_table_notebook(repository: str) -> nbformat.NotebookNode:
    """A small notebook that builds and tags a busybox image, then lists it with %docker_images."""
    template = json.dumps({
        "builders": [{"type": "docker", "image": "busybox:latest", "pull": False,
                      "commit": True}],
        "provisioners": [{"type": "shell", "inline": ["echo built in a browser > /hello"]}],
        "post-processors": [{"type": "docker-tag", "repository": repository,
                             "tags": ["1.0"]}]}, indent=2)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in (
        "%load_ext nbdocker", "%%packer\n" + template, f"%docker_images {repository}")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    return notebook


@pytest.fixture(scope="module")
def table_notebook(lab_server, engine):
    """The publishing tutorial when it exists, else a small notebook of the same ending."""
    if PUBLISH_TUTORIAL.exists():
        shutil.copy(PUBLISH_TUTORIAL, lab_server.root / PUBLISH_TUTORIAL.name)
        yield PUBLISH_TUTORIAL.name
        return
    repository = f"nbdocker-browser/{uuid.uuid4().hex[:8]}"
    nbformat.write(image_table_notebook(repository), lab_server.root / "image-table.ipynb")
    yield "image-table.ipynb"
    engine.remove_image(f"{repository}:1.0", force=True)


def test_browser_image_table_has_rows(lab_server, page, table_notebook):
    open_notebook(page, lab_server, table_notebook)
    replies = run_all_cells(page)
    saved = save_and_read(page, lab_server.root / table_notebook)
    assert failed_untagged_cells(saved, replies) == []
    assert unexpected_errors(saved) == []
    rows = page.locator(".nbdocker-table tbody tr")
    rows.first.wait_for(timeout=10_000)
    assert rows.count() >= 1

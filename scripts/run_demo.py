"""Execute the build tutorial notebook and print the images it built.

Usage: python scripts/run_demo.py [NOTEBOOK]   (default notebooks/01-build-an-image.ipynb)

`make demo` runs this with the project's virtual environment. The notebook runs in kernel
"python3" (the venv's interpreter, registered with `ipykernel install --sys-prefix`), the executed
copy is saved to build/demo/, and every output line that starts with "Built:" is printed. The
script exits 1 when the notebook is missing, a cell fails, or no cell printed a "Built:" line.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_NOTEBOOK = REPO / "notebooks" / "01-build-an-image.ipynb"
EXECUTED_DIR = REPO / "build" / "demo"
BUILT_PREFIX = "Built:"

# Seconds one cell may run. A cell that builds on debian:bookworm and runs apt-get inside the
# container can take minutes, so the default is generous. NBDOCKER_DEMO_CELL_TIMEOUT overrides it.
CELL_TIMEOUT = int(os.environ.get("NBDOCKER_DEMO_CELL_TIMEOUT", "1800"))


def fail(message: str) -> int:
    print(f"run_demo: {message}", file=sys.stderr)
    return 1


def output_lines(notebook) -> list[str]:
    """Return the text lines of every cell output (streams, results and displayed plain text)."""
    lines: list[str] = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = output.get("text", "")
            else:
                text = output.get("data", {}).get("text/plain", "")
            if isinstance(text, list):
                text = "".join(text)
            lines.extend(text.splitlines())
    return lines


def display_path(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        return fail(f"expected at most one argument, the notebook path, got {len(argv)}: {argv}")
    notebook_path = Path(argv[0]).resolve() if argv else DEFAULT_NOTEBOOK
    executed_copy = EXECUTED_DIR / notebook_path.name
    if not notebook_path.is_file():
        return fail(f"{display_path(notebook_path)} not found; the demo executes that notebook, so it must exist")

    # Prefer the kernel spec installed in this virtual environment over one of the same name in
    # the user's Jupyter folder, which may point at another interpreter.
    os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError as error:
        return fail(f"{error.name} is not installed in {sys.prefix}; run `make demo`, which installs it")

    notebook = nbformat.read(notebook_path, as_version=4)
    # The notebook writes files (its provisioning script, its page) into its working folder,
    # so it runs next to the executed copy instead of in notebooks/.
    EXECUTED_DIR.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(EXECUTED_DIR)}},
    )
    print(f"run_demo: executing {display_path(notebook_path)}", file=sys.stderr)
    failure = None
    try:
        client.execute()
    except CellExecutionError as error:
        failure = error
    finally:
        # Save the executed copy even when a cell failed, because it shows which cell and why.
        executed_copy.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, executed_copy)
        print(f"run_demo: executed copy saved to {display_path(executed_copy)}", file=sys.stderr)

    if failure is not None:
        print(failure, file=sys.stderr)
        return fail("a cell failed; see the error above and the executed copy")

    built = [line for line in output_lines(notebook) if line.startswith(BUILT_PREFIX)]
    if not built:
        return fail(f'no cell printed a line starting with "{BUILT_PREFIX}", so the notebook built no image')
    for line in built:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

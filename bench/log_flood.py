"""Log flood: a %%packer build whose provisioner prints 10 MB, run in a notebook through nbclient.

Measures the cost to a notebook of a build that prints a lot:

- the size of the saved notebook, with widget state stored as nbclient does by default;
- the number of widget comm messages the kernel sent, their highest rate in any one second,
  and the longest pause between two of them;
- the wall time of the build cell, and of a trivial cell run right after it;
- whether the full log file has every line.

Run from the repository root with the lab up (``scripts/lab up``)::

    .venv/bin/python bench/log_flood.py            # 10 MB, writes docs/benchmarks.md
    .venv/bin/python bench/log_flood.py --megabytes 1 --no-write

The results replace the "Log flood" section of docs/benchmarks.md and leave the other sections
as they are. tests/integration/test_views_engine.py runs the same case with ``run_flood``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
SECTION = "Log flood"
LINE = "line of output from a provisioner that prints a lot"


def flood_template(size_bytes: int) -> str:
    """Return a template whose shell step prints ``size_bytes`` bytes of short lines."""
    return json.dumps({
        "builders": [{"type": "docker", "image": "busybox:latest", "pull": False,
                      "discard": True}],
        "provisioners": [{"type": "shell",
                          "inline": [f'yes "{LINE}" | head -c {size_bytes}']}],
    }, indent=2)


def flood_notebook(size_bytes: int, log_dir: Path, plain_text: bool = False
                   ) -> nbformat.NotebookNode:
    """Return the notebook: load nbdocker, set the log folder, build, then a trivial cell."""
    cells = [
        "%load_ext nbdocker",
        f"%config NbDockerMagics.log_dir = {str(log_dir)!r}\n"
        f"%config NbDockerMagics.plain_text = {plain_text}",
        # --no-cache: the step cache would otherwise replay the step without running it.
        "%%packer --no-cache\n" + flood_template(size_bytes),
        "1 + 1",
    ]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    return notebook


class CountingClient(NotebookClient):
    """A NotebookClient that records when each widget comm message arrived, per cell."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.comm_times: dict[int, list[float]] = {}
        self.cell_times: dict[int, float] = {}
        self.on_cell_executed = self._record_cell_end
        self._cell_started: dict[int, float] = {}
        self.on_cell_execute = self._record_cell_start

    def _record_cell_start(self, cell, cell_index, **_):
        self._cell_started[cell_index] = time.monotonic()

    def _record_cell_end(self, cell, cell_index, execute_reply, **_):
        self.cell_times[cell_index] = time.monotonic() - self._cell_started[cell_index]

    def handle_comm_msg(self, outs, msg, cell_index):
        if msg["msg_type"] == "comm_msg":
            self.comm_times.setdefault(cell_index, []).append(time.monotonic())
        return super().handle_comm_msg(outs, msg, cell_index)


@dataclass
class FloodResult:
    """Measurements of one flood run."""

    megabytes: float
    expected_lines: int  # whole lines; ``head -c`` cuts one more line short
    log_lines: int
    log_path: str
    notebook_bytes: int
    comm_messages: int
    max_comm_per_second: int
    longest_comm_gap: float
    build_seconds: float
    next_cell_seconds: float
    view_seconds: float = 0.0
    cell_errors: list[str] = field(default_factory=list)


def time_view_alone(lines: int) -> float:
    """Return the seconds BuildView.handle takes for ``lines`` LogLine events, with no kernel.

    Without a kernel the widgets' comm messages go nowhere, so this is the view's own cost:
    updating the state per line and redrawing at its rate.
    """
    from nbdocker.build.events import LogLine, RunStarted
    from nbdocker.display.widgets import BuildView

    view = BuildView(display=lambda obj: None)
    events = [LogLine(LINE, stream="stdout", build="docker") for _ in range(lines)]
    started = time.perf_counter()
    view.handle(RunStarted(["docker"]))
    for event in events:
        view.handle(event)
    view.close()
    return time.perf_counter() - started


def _max_per_second(times: list[float]) -> int:
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def _log_path(notebook: nbformat.NotebookNode) -> str:
    """Find the log path in the build cell's summary (a display, or printed text)."""
    for output in notebook.cells[2].get("outputs", []):
        text = output.get("data", {}).get("text/plain", "") or output.get("text", "")
        match = re.search(r"^Full log \(\d+ lines\): (.+)$", text, re.MULTILINE)
        if match:
            return match.group(1).strip()
    return ""


def run_flood(size_bytes: int = 10_000_000, workdir: Path | None = None,
              timeout: int = 600, plain_text: bool = False) -> FloodResult:
    """Execute the flood notebook in ``workdir`` (a new temp folder by default) and measure it.

    With ``plain_text`` the build shows as text instead of widgets (``%config
    NbDockerMagics.plain_text = True``).
    """
    workdir = Path(workdir or tempfile.mkdtemp(prefix="nbdocker-flood-"))
    notebook = flood_notebook(size_bytes, workdir / "logs", plain_text)
    client = CountingClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}},
                            store_widget_state=True, allow_errors=True)
    client.execute()
    path = workdir / "log-flood.ipynb"
    nbformat.write(notebook, path)

    errors = [f"cell {index}: {output.ename}: {output.evalue}"
              for index, cell in enumerate(notebook.cells)
              for output in cell.get("outputs", []) if output.output_type == "error"]
    log_path = _log_path(notebook)
    log_lines = 0
    if log_path and os.path.exists(log_path):
        with open(log_path, encoding="utf-8") as log:
            log_lines = sum(1 for line in log if line.rstrip("\n").endswith(LINE))
    times = client.comm_times.get(2, [])
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    return FloodResult(
        megabytes=size_bytes / 1e6,
        expected_lines=size_bytes // (len(LINE) + 1),
        log_lines=log_lines,
        log_path=log_path,
        notebook_bytes=path.stat().st_size,
        comm_messages=len(times),
        max_comm_per_second=_max_per_second(times),
        longest_comm_gap=max(gaps, default=0.0),
        build_seconds=client.cell_times.get(2, 0.0),
        next_cell_seconds=client.cell_times.get(3, 0.0),
        view_seconds=time_view_alone(size_bytes // (len(LINE) + 1)),
        cell_errors=errors,
    )


def machine_description() -> str:
    """Return the CPU model, core count, OS and Python version of this machine."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def results_section(result: FloodResult) -> str:
    """Return the "Log flood" section of docs/benchmarks.md for one result."""
    complete = "yes" if result.log_lines == result.expected_lines else "NO"

    def paragraph(text: str) -> str:
        return textwrap.fill(text, width=96, break_on_hyphens=False, break_long_words=False)

    return "\n".join([
        f"## {SECTION}",
        "",
        paragraph(
            f"A `%%packer --no-cache` build on `busybox:latest` (`\"pull\": false`, "
            f"`\"discard\": true`) whose shell step runs "
            f"`yes \"{LINE}\" | head -c {int(result.megabytes * 1e6)}`, executed in a notebook "
            "with nbclient (`store_widget_state=True`) by `bench/log_flood.py`. The widget view "
            "draws at its default rate (10 redraws a second) with a 40-line tail."),
        "",
        "| measure | value |",
        "|---|---|",
        f"| output printed | {result.megabytes:g} MB, {result.expected_lines} whole lines |",
        f"| lines in the full log file | {result.log_lines} (complete: {complete}) |",
        f"| saved notebook | {result.notebook_bytes / 1000:.1f} kB |",
        f"| widget comm messages from the build cell | {result.comm_messages} |",
        f"| most comm messages in any one second | {result.max_comm_per_second} |",
        f"| longest pause between two comm messages | {result.longest_comm_gap:.2f} s |",
        f"| wall time of the build cell | {result.build_seconds:.1f} s |",
        f"| wall time of `1 + 1` right after it | {result.next_cell_seconds * 1000:.0f} ms |",
        f"| `BuildView.handle` alone for the same lines, no kernel | "
        f"{result.view_seconds:.1f} s |",
        "",
        paragraph(
            f"Measured on {machine_description()}, {time.strftime('%Y-%m-%d')}, from one run; "
            "times vary by some tens of percent between runs on a shared machine. The last row "
            "estimates the view's own share of the build cell's time: updating its state for each "
            "line and redrawing at its rate."),
        "",
    ])


def replace_section(document: str, section: str, title: str = SECTION) -> str:
    """Return ``document`` with the ``## title`` section replaced by ``section`` (or appended)."""
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(document):
        return pattern.sub(lambda _: section.rstrip("\n") + "\n\n", document, count=1)
    if not document.strip():
        document = "# Benchmarks\n\n"
    return document.rstrip("\n") + "\n\n" + section


def write_results(result: FloodResult, path: Path = BENCHMARKS) -> None:
    """Replace the "Log flood" section of ``path`` with ``result``, creating the file if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(replace_section(document, results_section(result)).rstrip("\n") + "\n",
                    encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=10.0,
                        help="output the provisioner prints, in MB (default 10)")
    parser.add_argument("--no-write", action="store_true",
                        help="print the results without changing docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.megabytes <= 0:
        parser.error(f"--megabytes must be above 0, got {args.megabytes}")

    result = run_flood(int(args.megabytes * 1e6))
    print(json.dumps(asdict(result), indent=2))
    if result.cell_errors:
        print("The notebook failed; docs/benchmarks.md is unchanged.", file=sys.stderr)
        return 1
    if not args.no_write:
        write_results(result)
        print(f"Wrote the {SECTION!r} section of {BENCHMARKS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Render the benchmark results as Markdown and put them into docs/benchmarks.md.

The file may hold sections that other benchmarks write. This module replaces only the
text between its two marker comments and keeps everything else as it is.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field

BEGIN = "<!-- bench/run.py writes from here to the end marker; edits in between are lost -->"
END = "<!-- end of the part bench/run.py writes -->"

NBDOCKER, FLOOR, PACKER, DOCKERFILE = "nbdocker", "floor", "packer", "dockerfile"
BUILD_CONTENDERS = {
    NBDOCKER: "nbdocker (Python API, cache off)",
    FLOOR: "docker SDK floor",
    PACKER: "Packer's CLI sequence",
    DOCKERFILE: "docker build",
}
RERUN, EDIT_LAST = "re-run, unchanged", "re-run, last step edited"
PUSH_NBDOCKER, PUSH_DOCKER, PUSH_SDK = "nbdocker.push", "docker push", "docker SDK push"
PULL_SIZE = 20

# Targets, as ratios of two medians from the same run.
PACKER_RATIO_MAX = 0.35
FLOOR_RATIO_MAX = 1.1
RERUN_RATIO_MAX = 0.05
EDIT_RATIO_MAX = 1.1
PUSH_RATIO_MAX = 1.05


@dataclass
class Results:
    """Everything one ``bench/run.py`` invocation measured."""

    command: str
    runs: int
    sizes: list[int]
    machine: dict[str, str]
    buildkit: bool
    push_megabytes: int
    pushes_per_run: int
    #: Seconds per run, by (row, contender).
    samples: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    #: Why a contender failed, by (row, contender).
    errors: dict[tuple[str, str], str] = field(default_factory=dict)
    #: Parts of an unchanged re-run, in seconds per run: loading, connecting.
    rerun_parts: dict[str, list[float]] = field(default_factory=dict)
    #: Wall time and (call, count, total, median) rows, by profiled build.
    profiles: dict[str, tuple[float, list[tuple[str, int, float, float]]]] = \
        field(default_factory=dict)

    def median(self, row: str, contender: str) -> float | None:
        values = self.samples.get((row, contender))
        return statistics.median(values) if values else None


def size_row(count: int, pull: bool = False) -> str:
    """Return the row name of a cold build with ``count`` steps."""
    return f"{count} steps, pull" if pull else f"{count} steps"


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f} s"


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def ratio_text(value: float | None) -> str:
    """Format a ratio with three decimals below 0.1 and two above, or ``n/a``."""
    if value is None:
        return "n/a"
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def _cell(results: Results, row: str, contender: str) -> str:
    if (row, contender) in results.errors:
        return "failed"
    return _seconds(results.median(row, contender))


# -- sections ------------------------------------------------------------------------------


def _machine(results: Results) -> list[str]:
    machine = results.machine
    return [
        "## Build and push speed",
        "",
        f"Measured by `{results.command}` with {results.runs} "
        f"{'run' if results.runs == 1 else 'runs'} of every case; each figure is the median "
        "of those runs, and every ratio divides two medians of the same invocation.",
        "",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory']} memory, "
        f"{machine['os']}",
        f"- Engine: Docker {machine['engine']} (API {machine['api']}), storage driver "
        f"{machine['driver']}; registry at 127.0.0.1:5000 on the same machine",
        f"- Python {machine['python']}, docker SDK {machine['sdk']}, nbdocker "
        f"{machine['nbdocker']}; run on {machine['date']}",
        f"- 1-minute load average {machine['load']} at the start and "
        f"{machine.get('load_end', 'n/a')} at the end; other work on the machine shows as "
        "spread between runs",
        "",
    ]


def _method(results: Results) -> list[str]:
    builder = "BuildKit" if results.buildkit else \
        "the classic builder (`DOCKER_BUILDKIT=0`: BuildKit needs buildx, which is missing here)"
    return [
        "### What runs",
        "",
        "Every contender builds the same image from busybox:latest: N shell steps, each "
        "writing one small file and printing one line, then a commit. The base image is not "
        "pulled (`\"pull\": false` and equivalents), so the comparison is of build work; the "
        f"`{PULL_SIZE} steps, pull` row pulls it through the lab registry mirror first.",
        "",
        "- **nbdocker**: `nbdocker.api.build(template_text, cache=False)`, as a script or "
        "notebook calls it: connect to the engine, load the template, run the build with its "
        "events, commit. `cache=False` reuses nothing but still writes cache entries.",
        "- **docker SDK floor**: the docker SDK with the fewest Engine API calls that keep "
        "Packer's model of one upload and one exec per step. It creates and starts a "
        "container, runs one `put_archive` and one exec (create, start, inspect for the exit "
        "status) per step, then commits and removes the container.",
        "- **Packer's CLI sequence**: the docker CLI commands that Packer's docker builder "
        "runs for this template, one process each. First `docker -v`, two `docker inspect` "
        "of the image, `docker run -v TMP:/packer-files -d -i -t --entrypoint=/bin/sh -- "
        "IMAGE` and two `docker inspect` of the container. Then, per step, `docker cp` of the "
        "script and three `docker exec -i` (chmod, run, rm). Last, `docker inspect` of the "
        "image config, `docker commit --change ...`, `docker inspect`, `docker kill` and "
        "`docker rm`. Packer itself is not installed here, so this replays the commands its "
        "docker driver runs.",
        f"- **docker build**: `docker build --no-cache` of a Dockerfile with one RUN per step, "
        f"with {builder}.",
        "",
        "Images are removed after each timed build, outside the timing.",
        "",
    ]


def _build_table(results: Results) -> list[str]:
    lines = [
        "### Cold builds",
        "",
        "| steps | " + " | ".join(BUILD_CONTENDERS.values()) +
        " | nbdocker / Packer | nbdocker / floor |",
        "|---|" + "---:|" * (len(BUILD_CONTENDERS) + 2),
    ]
    rows = [(size_row(size), str(size)) for size in results.sizes]
    rows.append((size_row(PULL_SIZE, pull=True), f"{PULL_SIZE}, with pull"))
    for row, label in rows:
        cells = [_cell(results, row, contender) for contender in BUILD_CONTENDERS]
        nbdocker = results.median(row, NBDOCKER)
        lines.append(f"| {label} | " + " | ".join(cells) + " | "
                     f"{ratio_text(_ratio(nbdocker, results.median(row, PACKER)))} | "
                     f"{ratio_text(_ratio(nbdocker, results.median(row, FLOOR)))} |")
    lines.append("")
    first, last = min(results.sizes), max(results.sizes)
    if first != last:
        lines += [f"Cost of one more step, from the {first}- and {last}-step medians: " +
                  ", ".join(f"{name} {_per_step(results, contender, first, last)}"
                            for contender, name in BUILD_CONTENDERS.items()) + ".", ""]
    return lines


def _per_step(results: Results, contender: str, first: int, last: int) -> str:
    low, high = results.median(size_row(first), contender), \
        results.median(size_row(last), contender)
    if low is None or high is None:
        return "n/a"
    return f"{(high - low) / (last - first) * 1000:.0f} ms"


def _notebook_table(results: Results) -> list[str]:
    cold = results.median(size_row(20), NBDOCKER)
    one = results.median(size_row(1), NBDOCKER)
    lines = [
        "### Re-running a cell (20 steps, Python API, cache on)",
        "",
        "| case | median | / cold 20-step build | / cold 1-step build |",
        "|---|---:|---:|---:|",
    ]
    for row in (RERUN, EDIT_LAST):
        value = results.median(row, NBDOCKER)
        lines.append(f"| {row} | {_cell(results, row, NBDOCKER)} | "
                     f"{ratio_text(_ratio(value, cold))} | {ratio_text(_ratio(value, one))} |")
    load = results.rerun_parts.get("load")
    connect = results.rerun_parts.get("connect")
    if load and connect:
        lines += ["", f"Parts of the unchanged re-run, measured apart: loading the template "
                      f"{statistics.median(load) * 1000:.0f} ms, connecting to the engine "
                      f"{statistics.median(connect) * 1000:.0f} ms; the rest is the run "
                      "itself (cache lookups, events, the runner's threads)."]
    lines.append("")
    return lines


def _push_table(results: Results) -> list[str]:
    row = f"push {results.push_megabytes} MB"
    ours, theirs = results.median(row, PUSH_NBDOCKER), results.median(row, PUSH_DOCKER)
    sdk = results.median(row, PUSH_SDK)
    return [
        f"### Push of a {results.push_megabytes} MB image to 127.0.0.1:5000",
        "",
        "Each push sends a freshly committed image (busybox plus a file of random bytes) to a "
        "new repository, so no layer but busybox's is already in the registry. The "
        f"contenders take turns, and each pushes {results.pushes_per_run} times per run. "
        "`APIClient.push` of the docker SDK, read to the end of its progress stream, is the "
        "floor: the engine's push with no client work around it.",
        "",
        "| nbdocker.push | docker push | docker SDK push | nbdocker / docker push | "
        "nbdocker / SDK |",
        "|---:|---:|---:|---:|---:|",
        f"| {_cell(results, row, PUSH_NBDOCKER)} | {_cell(results, row, PUSH_DOCKER)} | "
        f"{_cell(results, row, PUSH_SDK)} | {ratio_text(_ratio(ours, theirs))} | "
        f"{ratio_text(_ratio(ours, sdk))} |",
        "",
    ]


def targets(results: Results) -> list[tuple[str, float | None, float]]:
    """Return (target, measured ratio, maximum) for each target."""
    size = size_row(20)
    cold = results.median(size, NBDOCKER)
    push = f"push {results.push_megabytes} MB"
    return [
        ("20-step build / Packer's CLI sequence", _ratio(cold, results.median(size, PACKER)),
         PACKER_RATIO_MAX),
        ("20-step build / docker SDK floor", _ratio(cold, results.median(size, FLOOR)),
         FLOOR_RATIO_MAX),
        ("unchanged re-run / cold 20-step build", _ratio(results.median(RERUN, NBDOCKER), cold),
         RERUN_RATIO_MAX),
        ("last step edited / cold 1-step build (the cost of one step with its container "
         "start and commit)", _ratio(results.median(EDIT_LAST, NBDOCKER),
                                     results.median(size_row(1), NBDOCKER)), EDIT_RATIO_MAX),
        ("nbdocker.push / docker push", _ratio(results.median(push, PUSH_NBDOCKER),
                                               results.median(push, PUSH_DOCKER)),
         PUSH_RATIO_MAX),
    ]


def verdict(value: float | None, limit: float) -> str:
    """Return ``pass`` or ``FAIL`` for a measured ratio and its maximum (``n/a`` if missing)."""
    if value is None:
        return "n/a"
    return "pass" if value <= limit else "FAIL"


def _targets_table(results: Results) -> list[str]:
    lines = ["### Targets", "", "| target | ratio | at most | result |", "|---|---:|---:|---|"]
    for name, value, limit in targets(results):
        lines.append(f"| {name} | {ratio_text(value)} | {limit:g} | {verdict(value, limit)} |")
    lines.append("")
    return lines


def _profiles(results: Results) -> list[str]:
    if not results.profiles:
        return []
    lines = [
        "### Where a 20-step build spends its time",
        "",
        "One extra build of each kind with every Engine API call timed (the docker SDK's "
        "APIClient methods, wrapped). A streamed `exec_start` counts until its output ends, "
        "so it includes the script's run time. `session round trip` is one script sent "
        "through nbdocker's shell session and its output read back. Time not in any call "
        "is Python work: template rendering, cache keys, events, archives.",
        "",
    ]
    for name, (elapsed, rows) in results.profiles.items():
        lines += [f"**{name}**: {elapsed:.3f} s in all", "",
                  "| call | calls | total | median |", "|---|---:|---:|---:|"]
        for call, count, total, median in rows:
            lines.append(f"| {call} | {count} | {total * 1000:.0f} ms | {median * 1000:.1f} ms |")
        accounted = sum(row[2] for row in rows)
        lines += [f"| (outside API calls) | | {(elapsed - accounted) * 1000:.0f} ms | |", ""]
    return lines


def _errors(results: Results) -> list[str]:
    if not results.errors:
        return []
    lines = ["### Failures", ""]
    for (row, contender), message in sorted(results.errors.items()):
        lines.append(f"- {row}, {contender}: {message}")
    return lines + [""]


def render(results: Results) -> str:
    """Return the Markdown that bench/run.py puts between its markers."""
    lines = [*_machine(results), *_targets_table(results), *_build_table(results),
             *_notebook_table(results), *_push_table(results), *_method(results),
             *_profiles(results), *_errors(results)]
    return "\n".join(lines).rstrip() + "\n"


def write(path: str, body: str) -> None:
    """Put ``body`` between the markers in ``path``, keeping the rest of the file."""
    block = f"{BEGIN}\n\n{body}\n{END}\n"
    if not os.path.exists(path):
        text = f"# Benchmarks\n\n{block}"
    else:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        if BEGIN in text and END in text:
            head, _, rest = text.partition(BEGIN)
            _, _, tail = rest.partition(END)
            text = head + block.rstrip("\n") + tail
        else:
            # Put the block under the page title, before the sections others write.
            title, newline, rest = text.partition("\n")
            if title.startswith("# "):
                text = f"{title}\n\n{block}\n{rest.lstrip(chr(10))}"
            else:
                text = f"# Benchmarks\n\n{block}\n{text}"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)

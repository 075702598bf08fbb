"""Benchmark nbdocker's builds and pushes against the docker SDK, Packer and docker build.

Usage::

    .venv/bin/python bench/run.py            # 5 runs of every case, about 20 minutes
    .venv/bin/python bench/run.py --quick    # 2 runs, about 8 minutes

It needs the engine and the registry on 127.0.0.1:5000 that ``scripts/lab up`` starts, and
busybox:latest in the engine. Results go to docs/benchmarks.md (see bench/report.py). It
removes every image, container and cache entry it makes, but the repositories it pushes to
the lab registry (``nbdocker-bench/push-*``) stay there.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import uuid
from typing import Any, Callable

import docker

import nbdocker
from nbdocker import api as nbdocker_api
from nbdocker.build import cache, provisioners
from nbdocker.engine import connect

import calls
import contenders
import report
from workload import IMAGE, template_text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGISTRY = "127.0.0.1:5000"
SIZES = (1, 5, 20, 50)
PUSH_MEGABYTES = 10
#: Pushes per contender and run: single pushes to a registry on a busy machine vary a lot.
PUSHES_PER_RUN = 3


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


class Bench:
    """One benchmark invocation: its settings, its engine client and its results."""

    def __init__(self, runs: int, command: str, sizes: list[int]):
        self.session = uuid.uuid4().hex[:8]
        self.client = docker.APIClient(**docker.utils.kwargs_from_env(), version="auto")
        self.buildkit = contenders.buildkit_available()
        self.namespace = f"bench-{self.session}"
        os.environ["NBDOCKER_CACHE_NAMESPACE"] = self.namespace
        self.results = report.Results(command=command, runs=runs, sizes=list(sizes),
                                      machine=self.machine(), buildkit=self.buildkit,
                                      push_megabytes=PUSH_MEGABYTES,
                                      pushes_per_run=PUSHES_PER_RUN)

    # -- measuring -----------------------------------------------------------------------

    def measure(self, row: str, contender: str, work: Callable[[], Any],
                remove: Callable[[Any], None] | None = None) -> None:
        """Time ``work`` once; then remove what it made with ``remove``, untimed."""
        if (row, contender) in self.results.errors:
            return  # it failed in an earlier run, so running it again adds no information
        started = time.perf_counter()
        try:
            created = work()
        except Exception as err:  # noqa: BLE001 - recorded in the report, the bench goes on
            self.results.errors[(row, contender)] = f"{type(err).__name__}: {err}"
            log(f"{row}, {contender}: failed: {err}")
            return
        elapsed = time.perf_counter() - started
        self.results.samples.setdefault((row, contender), []).append(elapsed)
        log(f"{row:<28} {contender:<14} {elapsed:8.3f} s")
        if remove is not None and created:
            remove(created)

    def remove_image(self, image: str) -> None:
        try:
            self.client.remove_image(image, force=True)
        except docker.errors.NotFound:
            pass

    def cold_builds(self, count: int, *, pull: bool) -> None:
        """Time each contender's build of ``count`` steps."""
        row = report.size_row(count, pull)
        text = template_text(count, pull=pull)
        self.measure(row, report.NBDOCKER,
                     lambda: contenders.nbdocker_build(text, cache=False,
                                                       expect=["ok"] * count))
        self.measure(row, report.FLOOR,
                     lambda: contenders.raw_floor(self.client, count, pull=pull),
                     self.remove_image)
        self.measure(row, report.PACKER,
                     lambda: contenders.packer_replay(count, pull=pull), self.remove_image)
        self.measure(row, report.DOCKERFILE,
                     lambda: contenders.dockerfile_build(count, pull=pull,
                                                         buildkit=self.buildkit),
                     self.remove_image)

    def reruns(self, run: int) -> None:
        """Time an unchanged re-run and a re-run with the last step edited (cache on)."""
        text = template_text(20)
        if run == 0:
            contenders.nbdocker_build(text, cache=True)  # make sure every entry exists
        self.measure(report.RERUN, report.NBDOCKER,
                     lambda: contenders.nbdocker_build(text, cache=True, expect=["cached"] * 20))
        edited = template_text(20, last_token=uuid.uuid4().hex)
        self.measure(report.EDIT_LAST, report.NBDOCKER,
                     lambda: contenders.nbdocker_build(edited, cache=True,
                                                       expect=["cached"] * 19 + ["ok"]))
        parts = self.results.rerun_parts
        started = time.perf_counter()
        nbdocker_api.load(text)
        parts.setdefault("load", []).append(time.perf_counter() - started)
        started = time.perf_counter()
        connect().client.close()
        parts.setdefault("connect", []).append(time.perf_counter() - started)

    def pushes(self, run: int) -> None:
        """Time pushing fresh images with nbdocker.push, docker push and the SDK, in turns."""
        row = f"push {PUSH_MEGABYTES} MB"
        order = [(report.PUSH_NBDOCKER, "nbdocker", contenders.nbdocker_push),
                 (report.PUSH_DOCKER, "docker", contenders.docker_push),
                 (report.PUSH_SDK, "sdk", lambda reference: contenders.sdk_push(self.client,
                                                                              reference))]
        shift = run % len(order)
        order = order[shift:] + order[:shift]  # each contender goes first in some runs
        for attempt in range(PUSHES_PER_RUN):
            for contender, name, push in order:
                image = contenders.image_of_size(self.client, PUSH_MEGABYTES)
                repository = (f"{REGISTRY}/nbdocker-bench/push-{self.session}-{name}-"
                              f"{run}-{attempt}")
                self.client.tag(image, repository, "latest")
                try:
                    self.measure(row, contender, lambda: push(f"{repository}:latest"))
                finally:
                    self.remove_image(f"{repository}:latest")
                    self.remove_image(image)

    def profiles(self) -> None:
        """Build 20 steps once more per kind with every API call timed."""
        text = template_text(20)
        nbdocker_cold = lambda: contenders.nbdocker_build(text, cache=False)  # noqa: E731
        runs = [
            # (name, work, shell session on, remove the image it made)
            ("nbdocker, shell session", nbdocker_cold, True, False),
            ("nbdocker, one upload and one exec per step", nbdocker_cold, False, False),
            ("docker SDK floor", lambda: contenders.raw_floor(self.client, 20, pull=False),
             True, True),
            ("nbdocker, unchanged re-run", lambda: contenders.nbdocker_build(text, cache=True),
             True, False),
        ]
        for name, work, session, remove in runs:
            provisioners.USE_SHELL_SESSION = session
            try:
                elapsed, rows, image = calls.profile(work)
            finally:
                provisioners.USE_SHELL_SESSION = True
            self.results.profiles[name] = (elapsed, rows)
            if remove:
                self.remove_image(image)

    # -- setup and cleanup ---------------------------------------------------------------

    def machine(self) -> dict[str, str]:
        info, version = self.client.info(), self.client.version()
        cpu = platform.processor() or platform.machine()
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as handle:
                cpu = next((line.split(":", 1)[1].strip() for line in handle
                            if line.startswith("model name")), cpu)
        except OSError:
            pass
        return {
            "cpu": cpu, "cores": str(os.cpu_count()),
            "memory": f"{info.get('MemTotal', 0) / 2**30:.1f} GiB",
            "os": f"{platform.system()} {platform.release()}",
            "engine": version.get("Version", "?"), "api": version.get("ApiVersion", "?"),
            "driver": info.get("Driver", "?"), "python": platform.python_version(),
            "sdk": docker.__version__, "nbdocker": nbdocker.__version__,
            "date": time.strftime("%Y-%m-%d"),
            "load": f"{os.getloadavg()[0]:.1f}",
        }

    def check_lab(self) -> None:
        try:
            self.client.inspect_image(IMAGE)
        except docker.errors.NotFound:
            raise SystemExit(f"bench: {IMAGE} is not in the engine; run scripts/lab up") from None

    def cleanup(self) -> None:
        removed = cache.prune(connect(), self.namespace)
        log(f"removed {len(removed)} cache entries of namespace {self.namespace}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 runs of every case instead of 5")
    parser.add_argument("--runs", type=int, help="runs of every case (overrides --quick)")
    parser.add_argument("--sizes", type=lambda text: [int(part) for part in text.split(",")],
                        default=list(SIZES),
                        help="comma-separated step counts of the cold builds (default: 1,5,20,50; "
                             "the targets need 1 and 20)")
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "benchmarks.md"),
                        help="Markdown file to write (default: docs/benchmarks.md)")
    args = parser.parse_args(argv)
    runs = args.runs or (2 if args.quick else 5)
    command = " ".join([".venv/bin/python bench/run.py", *(argv if argv is not None
                                                           else sys.argv[1:])])

    bench = Bench(runs, command, args.sizes)
    bench.check_lab()
    log(f"{runs} runs; BuildKit {'on' if bench.buildkit else 'off (no buildx)'}; "
        f"cache namespace {bench.namespace}")
    try:
        # One untimed build of each kind: imports, connections and page cache warm up.
        contenders.nbdocker_build(template_text(1), cache=False)
        bench.remove_image(contenders.raw_floor(bench.client, 1, pull=False))
        bench.remove_image(contenders.packer_replay(1, pull=False))
        bench.remove_image(contenders.dockerfile_build(1, pull=False, buildkit=bench.buildkit))

        # Runs interleave the contenders, so slow drifts of the machine hit them alike.
        for run in range(runs):
            log(f"run {run + 1} of {runs}")
            for count in args.sizes:
                bench.cold_builds(count, pull=False)
            bench.cold_builds(report.PULL_SIZE, pull=True)
            bench.reruns(run)
            bench.pushes(run)
        bench.profiles()
    finally:
        bench.cleanup()

    bench.results.machine["load_end"] = f"{os.getloadavg()[0]:.1f}"
    report.write(args.output, report.render(bench.results))
    log(f"wrote {args.output}")
    for name, value, limit in report.targets(bench.results):
        log(f"target {name}: {report.ratio_text(value)} (at most {limit:g}) "
            f"{report.verdict(value, limit)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

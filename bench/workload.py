"""The build every contender runs: N small shell steps on busybox, as a template and a Dockerfile."""

from __future__ import annotations

import json

IMAGE = "busybox:latest"


def step_lines(index: int, token: str = "") -> list[str]:
    """Return the shell lines of step ``index``: write one small file and print a line."""
    suffix = f" {token}" if token else ""
    return ["mkdir -p /bench", f"echo 'step {index}{suffix}' > /bench/step-{index}.txt",
            f"echo 'step {index} done'"]


def step_script(index: int, token: str = "") -> bytes:
    """Return step ``index`` as the script the shell provisioner uploads for inline lines."""
    return ("#!/bin/sh -e\n" + "\n".join(step_lines(index, token)) + "\n").encode()


def template_text(count: int, *, pull: bool = False, last_token: str = "") -> str:
    """Return a JSON template with ``count`` inline shell provisioners and a commit.

    ``last_token`` changes the last step's text (an edit of the last step).
    """
    steps = [{"type": "shell",
              "inline": step_lines(index, last_token if index == count - 1 else "")}
             for index in range(count)]
    return json.dumps({"builders": [{"type": "docker", "image": IMAGE, "pull": pull,
                                     "commit": True}],
                       "provisioners": steps}, indent=2)


def dockerfile_text(count: int) -> str:
    """Return the Dockerfile with one RUN per step, running the same lines as the template."""
    runs = [f"RUN set -e; {'; '.join(step_lines(index))}" for index in range(count)]
    return "\n".join([f"FROM {IMAGE}", *runs]) + "\n"

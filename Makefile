# Run as root from a fresh clone on Debian: `make demo` or `make test`.
# Both bring up the local engine and registries with scripts/lab and install the package into .venv.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
PIP := $(VENV_PYTHON) -m pip install -q --disable-pip-version-check

export DEBIAN_FRONTEND := noninteractive

.PHONY: help demo test lab lab-down lab-status venv kernel chromium clean

help:
	@echo 'make demo        bring up the lab, run notebooks/01-build-an-image.ipynb, print the images it built'
	@echo 'make test        bring up the lab and run the whole test suite (tests/) with pytest'
	@echo 'make lab         start the local engine and registries (scripts/lab up)'
	@echo 'make lab-status  show what the lab runs (scripts/lab status)'
	@echo 'make lab-down    stop what the lab started (scripts/lab down)'
	@echo 'make clean       remove .venv, build/ and caches; the lab and its images stay'

lab:
	scripts/lab up

lab-down:
	scripts/lab down

lab-status:
	scripts/lab status

# Debian's python3 ships without ensurepip, so `python3 -m venv` needs python3-venv.
$(VENV_PYTHON):
	if ! command -v $(PYTHON) >/dev/null || ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then \
		if ! command -v apt-get >/dev/null || [[ "$$(id -u)" != 0 ]]; then \
			echo "make: $(PYTHON) with the venv and ensurepip modules is missing; install it (Debian: apt-get install python3 python3-venv) or set PYTHON=" >&2; \
			exit 1; \
		fi; \
		echo "make: installing python3 and python3-venv" >&2; \
		apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

venv: $(VENV_PYTHON)

# Register the venv's interpreter as kernel "python3" inside the venv, so that nbclient and
# JupyterLab started from the venv run notebooks with the installed package.
kernel: venv
	$(VENV_PYTHON) -m ipykernel install --sys-prefix --name python3 >/dev/null

chromium:
	if [[ ! -x /usr/bin/chromium ]]; then \
		echo "make: installing chromium for the browser tests" >&2; \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	fi

demo: lab venv
	$(PIP) -e . nbclient
	$(MAKE) --no-print-directory kernel
	lab_env="$$(scripts/lab env)"; set -a; eval "$$lab_env"; set +a; \
	$(VENV_PYTHON) scripts/run_demo.py

test: lab venv chromium
	$(PIP) -e '.[test]'
	$(MAKE) --no-print-directory kernel
	lab_env="$$(scripts/lab env)"; set -a; eval "$$lab_env"; set +a; \
	status=0; $(VENV_PYTHON) -m pytest -q -ra || status=$$?; \
	if [[ $$status == 5 ]]; then \
		echo "make: pytest collected no tests under tests/; that counts as a failure" >&2; \
		exit 1; \
	fi; \
	exit $$status

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis *.egg-info
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

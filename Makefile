# The two commands a newcomer types: `make test` and `make run`.
# `setup` is idempotent: it installs only what is missing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := bubblewrap git python3 python-is-python3 chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MODEL ?=
OUT ?=
# A real model costs money: make run stops at these limits unless RUN_ARGS says otherwise.
RUN_ARGS ?= --max-usd 2 --max-evals 100

DOCKER ?= 1
# Installed before the project, so that sentence-transformers finds torch in place instead of
# pulling the newest (multi-GB, CUDA) build. The pin is the CPU wheel where pip can find one
# locally (CI's machines); on another machine without a GPU, take the CPU build with
#   make setup TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
# and set TORCH= to keep the torch you have.
TORCH ?= torch==2.13.0

.PHONY: setup system-packages venv docker test test-toolchains test-gpu lint run bench clean

setup: system-packages venv docker

system-packages:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# Reinstall only when pyproject.toml changes.
venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@if [ -n "$(TORCH)" ] && ! $(BIN)/python -c 'import torch' 2>/dev/null; then \
	  $(BIN)/pip install -q $(TORCH); \
	fi
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

# A Docker engine that answers (installed and started in the background if need be) and the
# sandbox image (built offline when no registry is reachable; reused while its recipe is
# unchanged). `make setup DOCKER=0` skips both, for machines that use --sandbox local only.
docker: venv
	@if [ "$(DOCKER)" = 1 ]; then \
	  scripts/ensure-docker.sh && $(BIN)/python -m hgm.sandbox.image >/dev/null; \
	fi

lint: setup
	$(BIN)/ruff check .

# The suite runs in TEST_WORKERS processes (pytest-xdist: most tests wait on subprocesses,
# sandboxes and sockets, so more processes than cores pays); the few that stop the Docker
# engine (marker `alone`) run afterwards, by themselves. TEST_WORKERS=0 runs everything in one.
# loadgroup keeps tests marked with one xdist_group in one process (tests/test_executor_ray.py
# shares one Ray cluster between its tests, which must run in order).
TEST_WORKERS ?= 3

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup -m 'not toolchains and not gpu and not alone'
	$(BIN)/pytest -q -m alone

# The sandbox image with node, go, rust, java and g++ (a few minutes and ~1 GB of Debian
# packages the first time), and the tests that use it; `make test` leaves them out.
test-toolchains: setup
	$(BIN)/python -m hgm.sandbox.image --toolchains
	$(BIN)/pytest -q -m toolchains

# On a GPU machine: the real vllm serving a small chat model through a run.
# make test-gpu HGM_TEST_VLLM_MODEL=/models/Qwen2.5-0.5B-Instruct   (needs: pip install vllm)
test-gpu: setup
	HGM_TEST_VLLM_MODEL="$(HGM_TEST_VLLM_MODEL)" $(BIN)/pytest -q -m gpu

# With MODEL: evolve the seed agent on the built-in benchmark, in OUT (default:
# archive/run-<time> under this folder; `hgm run --resume` works on it from any folder).
# Without: explain how to name a model, then run the offline policy simulator.
run: setup
	@if [ -n "$(MODEL)" ]; then \
	  $(BIN)/hgm run --model "$(MODEL)" --benchmark builtin $(if $(OUT),--out "$(OUT)") $(RUN_ARGS); \
	else \
	  echo "No model named. To evolve the seed agent with a real LLM:"; \
	  echo "    make run MODEL=openai/gpt-5-mini        (any litellm model string; the key comes from your environment)"; \
	  echo "Meanwhile, here is the search at work on the offline simulator:"; \
	  echo; \
	  $(BIN)/hgm simulate --demo; \
	fi

# Every benchmark at its documented size (BENCHMARKS.md): writes bench-report.json (figures, machine,
# load average, commit, date) and prints a table. Compare two reports with
# `$(BIN)/python benchmarks/report.py compare A.json B.json`.
bench: setup
	$(BIN)/python benchmarks/report.py run --out bench-report.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

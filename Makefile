# Two commands do all the set-up: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TSTAMP  := $(VENV)/.installed-test

.PHONY: demo test bench bench-peers roundtrip arm64-test clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/python tools/demo.py

test: $(TSTAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python tools/bench_interp.py
	$(BIN)/python tools/bench.py
	$(BIN)/python tools/bench_asm.py

bench-peers: $(STAMP)
	$(BIN)/python tools/bench_peers.py --chart peers.svg

roundtrip: $(STAMP)
	$(BIN)/python tools/roundtrip.py --count 100000 --jobs 2

# the native tests and the corpus as a real aarch64 process (qemu user-mode;
# needs root; builds and caches the Debian arm64 root on first use)
arm64-test: $(STAMP)
	$(BIN)/python tools/arm64_root.py test

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

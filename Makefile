# Two commands do all the set-up: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TSTAMP  := $(VENV)/.installed-test

# `make test` spreads the suite over every core with pytest-xdist; JOBS=1
# (or any number) overrides it. Tests that must not run side by side share
# an xdist_group and so one worker.
JOBS        ?= auto
FUZZ_COUNT  ?= 100000
PROOF_INPUTS ?= 2000

.PHONY: demo test test-serial fuzz proof bench bench-peers roundtrip arm64-test clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The editable install is setuptools' `compat` mode: one path line in a
# .pth file. The default mode installs an import hook whose own imports
# cost about 30 ms on every start of Python in the venv, more than a bare
# `python -c pass`. `compileall` writes our bytecode once, so a start-up
# under PYTHONDONTWRITEBYTECODE=1 does not compile every module again.
EDITABLE := --config-settings editable_mode=compat
COMPILE  := $(BIN)/python -m compileall -q _jitvm.py vm backends asmkit

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q $(EDITABLE) -e .
	$(COMPILE)
	touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q $(EDITABLE) -e '.[test]'
	$(COMPILE)
	touch $@ $(STAMP)

demo: $(STAMP)
	@$(COMPILE)
	$(BIN)/python tools/demo.py

test: $(TSTAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup

# the same suite in one process (no xdist), e.g. to compare wall times
test-serial: $(TSTAMP)
	$(BIN)/python -m pytest -p no:xdist

# slow campaigns, not part of `make test`
# a long differential fuzz of every JIT engine against the interpreter
fuzz: $(TSTAMP)
	$(BIN)/python tools/fuzz_jit.py --count $(FUZZ_COUNT)

# the asmkit proof with ten times the Unicorn inputs per form of `make test`'s
proof: $(TSTAMP)
	$(BIN)/asmkit verify --arch x86_64 --inputs $(PROOF_INPUTS)
	$(BIN)/asmkit verify --arch aarch64 --inputs $(PROOF_INPUTS)

bench: $(STAMP)
	@$(COMPILE)
	$(BIN)/python tools/bench_startup.py
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

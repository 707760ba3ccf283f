# Two entry points: `make run` (install, then build on the default data) and `make test` (install, then test).
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared/data
LINKS := $(wildcard $(SHARED)/links/*.csv)
MIGRATION := $(wildcard $(SHARED)/migration/*.csv)

.PHONY: install run test bench

install: $(VENV)/.installed

# torch first, pinned: an unpinned torch pulls a multi-GB GPU build. Every package at the version in constraints.txt.
$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

run: install
	$(BIN)/matcher build $(foreach f,$(LINKS),--links $(f)) $(foreach f,$(MIGRATION),--migration $(f))
	$(BIN)/matcher stats

# The browser test drives Debian's chromium (no browser download: these machines reach only the package registries).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium

test: install $(CHROMIUM)
	$(BIN)/python -m pytest -q

# The quick benchmarks (minutes; figures and method in bench/README.md): the build, and the batch throughput on the
# build in MATCHER_HOME (default build/home; `make run` makes it). bench/scale.py builds three catalogues: by hand.
bench: install
	$(BIN)/python bench/build.py
	$(BIN)/python bench/batch.py

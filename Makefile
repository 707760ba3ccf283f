# Two entry points: `make run` (install, then build on the default data) and `make test` (install, then test).
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared/data
LINKS := $(wildcard $(SHARED)/links/*.csv)
MIGRATION := $(wildcard $(SHARED)/migration/*.csv)

.PHONY: install run test bench

install: $(VENV)/.installed

# torch first, pinned: an unpinned torch pulls a multi-GB GPU build.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: install
	$(BIN)/matcher build $(foreach f,$(LINKS),--links $(f)) $(foreach f,$(MIGRATION),--migration $(f))
	$(BIN)/matcher stats

test: install
	$(BIN)/python -m pytest -q

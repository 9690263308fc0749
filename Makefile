# The two commands of the README: `make book` and `make test`.
# Both create .venv from the pinned requirements.txt when it is missing or out of date.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
# Chapters execute in parallel, a kernel per core.
JOBS := $(shell nproc 2>/dev/null || echo 2)
MAKEFLAGS += --jobs=$(JOBS)

PYTHON_BOOTSTRAP ?= python3
VENV      := .venv
PY        := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
BUILD     := _build
STAGE     := $(BUILD)/stage
HTML      := $(BUILD)/html
BUILT     := $(HTML)/.built
EXECUTED_ALL := $(STAGE)/.executed

# The chapters are the notebooks the table of contents lists, in its order.
NOTEBOOKS := $(addsuffix .ipynb,$(shell grep -o 'notebooks/[A-Za-z0-9_]*' _toc.yml))
# They execute slowest first (benchmarks/README.md has the times), so that the cores finish together.
SLOWEST   := 04_cox 03_prognostic_factors lab_simulation
IN_ORDER  := $(filter $(addprefix notebooks/,$(addsuffix .ipynb,$(SLOWEST))),$(NOTEBOOKS)) \
             $(filter-out $(addprefix notebooks/,$(addsuffix .ipynb,$(SLOWEST))),$(NOTEBOOKS))
EXECUTED  := $(patsubst notebooks/%,$(STAGE)/notebooks/%,$(IN_ORDER))
HELPERS   := $(shell find aice_helpers -name "*.py" | sort)
DATA      := $(wildcard data/*.csv data/published/*.yaml data/lab/*.json data/lab/*/*.csv)
PAGES     := $(wildcard book/*.md book/*.bib book/_static/*) _config.yml _toc.yml data/README.md
JB_FLAGS  := -W -n --keep-going --quiet

# The repository's own helper package comes first, whatever else the environment holds.
export PYTHONPATH := $(CURDIR)

.PHONY: all book test unit venv data notebooks benchmark lab-study clean

all: book

venv: $(INSTALLED)

## Create the virtual environment from the exact pins, then install the helper package.
$(INSTALLED): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

## Execute one chapter with papermill into the staging tree; a failing cell fails the build.
$(STAGE)/notebooks/%.ipynb: notebooks/%.ipynb $(HELPERS) $(DATA) $(INSTALLED)
	@mkdir -p $(@D)
	@echo "executing $<"
	@$(PY) -m aice_helpers.book.execute execute $< $@ || { rm -f $@.tmp.ipynb $@; exit 1; }

## Execute every chapter whose staged copy is out of date, a kernel per core, each kernel running
## chapters one after another (aice_helpers/book/execute.py explains why and how they are kept apart).
$(EXECUTED_ALL): $(NOTEBOOKS) $(HELPERS) $(DATA) $(INSTALLED)
	@$(PY) -m aice_helpers.book.execute execute-stale $(JOBS) $(HELPERS) $(DATA) $(INSTALLED) -- \
	  $(foreach nb,$(IN_ORDER),$(nb) $(STAGE)/$(nb))
	@touch $@

## Render the staged book with warnings as errors, then publish it to _build/html in one move.
$(BUILT): $(EXECUTED_ALL) $(PAGES) $(INSTALLED)
	@mkdir -p $(STAGE)
	@cp -p _config.yml _toc.yml $(STAGE)/
	@mkdir -p $(STAGE)/book && cp -pr book/. $(STAGE)/book/
	@mkdir -p $(STAGE)/data && cp -p data/README.md $(STAGE)/data/README.md  # included by book/data_dictionary.md
	@echo "rendering the book"
	@$(VENV)/bin/jupyter-book build $(STAGE) --path-output $(STAGE) $(JB_FLAGS)
	@rm -rf $(HTML).new && cp -a $(STAGE)/_build/html $(HTML).new
	@rm -rf $(HTML) && mv $(HTML).new $(HTML)
	@touch $@
	@echo "book written to $(HTML)/index.html"

book: $(BUILT)

## Every test: helpers, notebooks against their stored outputs (nbval), the built book in a browser.
test: $(BUILT)
	$(PY) -m pytest --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg tests $(NOTEBOOKS)

## Unit tests only (no build).
unit: $(INSTALLED)
	$(PY) -m pytest tests -m "not book"

## Regenerate the synthetic cohort (deterministic: the files only change if the generator does).
data: $(INSTALLED)
	$(PY) -m aice_helpers generate

## Refresh the stored outputs of the chapters (the nbval baseline) on purpose, from the staged run.
notebooks: $(EXECUTED_ALL)
	@for nb in $(NOTEBOOKS); do \
	  $(PY) -m aice_helpers.book.execute store $(STAGE)/$$nb $$nb; echo "stored outputs of $$nb"; done

## The simulation lab's full study (minutes): every setting stored in data/lab as it completes, seeded,
## a process per core; a rerun skips the settings already stored (delete data/lab to start afresh).
lab-study: $(INSTALLED)
	nice -n 10 $(PY) -m aice_helpers.analyses.lab_study

benchmark: $(INSTALLED)
	$(PY) benchmarks/build_time.py

clean:
	rm -rf $(BUILD)

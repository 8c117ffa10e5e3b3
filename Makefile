# The course's commands. `make book` and `make test` set up everything on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD := _build
ASSETS := $(BUILD)/assets/vendor
HTML_MANAGER := 1.0.15
REQUIREJS := 2.3.8
JOBS ?= 2
# The book's editions: English (_build/html/), Simplified Chinese from the catalogues in
# book/locales/zh_CN (_build/html/zh_CN/) and Traditional Chinese converted from them (zh_TW).
EDITIONS ?= en zh_CN zh_TW
SUBMISSIONS ?= submissions
# The student's own notebook folder that `make lab` fills and opens: outside the repository, so
# that git pull, git clean, make clean and a new release never touch the student's work.
# LAB_LANGUAGE=zh_CN (or zh_TW) gives Chinese notebooks: the markdown translated from the
# book's catalogues, the code the same; they get a folder of their own (…-notebooks-zh_CN).
LAB_LANGUAGE ?= en
LAB_DIR ?= $(HOME)/why-training-fails-notebooks$(if $(filter-out en,$(LAB_LANGUAGE)),-$(LAB_LANGUAGE))
PYTEST_ARGS ?=
# The chapter notebooks run under nbval on this many workers (each notebook is one kernel on one thread).
TEST_WORKERS ?= 2
# PyTorch's oldest CPU code path, with MKL and oneDNN held to the same instructions: what a
# training run computes on a CPU without AVX. `make test` runs the notebooks and claims under it too.
CPU_PATH_DEFAULT := ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41
DEFAULT_PATH_LOG := $(BUILD)/test-default-path.log

.PHONY: help book translations lab lab-instructor test bench release grade assets venv clean check-python chromium bubblewrap voices

help:
	@echo "make book     set up .venv and build the HTML book into $(BUILD)/html"
	@echo "make test     run the whole test suite (sets up .venv and chromium if missing)"
	@echo "make lab      open your own copies of the chapter notebooks (no solutions) in JupyterLab"
	@echo "              (http://127.0.0.1:8888); they live in LAB_DIR=$(LAB_DIR),"
	@echo "              made on the first run; a later run adds missing chapters and changes none;"
	@echo "              make lab LAB_LANGUAGE=zh_CN (or zh_TW): Chinese notebooks, in LAB_DIR=$(HOME)/why-training-fails-notebooks-zh_CN"
	@echo "make translations   update the Chinese catalogues (book/locales) from the English text"
	@echo "make lab-instructor   open the instructor notebooks (with solutions) in notebooks/"
	@echo "make bench    speed measurements, printed as tables"
	@echo "make release  write the student notebooks (solutions removed) into release/"
	@echo "make grade SUBMISSIONS=dir   grade a folder of submitted notebooks"

check-python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found. Install Python 3.10 or newer (Debian: apt-get install -y python3 python3-venv)."; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "error: $(PYTHON) is older than 3.10. Install Python 3.10 or newer, or run make PYTHON=/path/to/python3.11."; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { echo "error: $(PYTHON) has no venv/ensurepip module. Install it (Debian: apt-get install -y python3-venv)."; exit 1; }

# The venv is rebuilt when requirements.txt or pyproject.toml change.
$(VENV)/.installed: requirements.txt pyproject.toml | check-python
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
	@touch $@

venv: $(VENV)/.installed

# MathJax comes from PyPI (django-static-mathjax, installed by requirements.txt); the widgets
# HTML manager and require.js from the npm registry. Nothing of them is committed.
$(ASSETS)/.stamp: $(VENV)/.installed
	@command -v npm >/dev/null || { echo "npm not found: installing Debian's npm (needed once, to fetch the widgets manager)"; \
	  command -v apt-get >/dev/null || { echo "error: npm is missing and apt-get is not available. Install Node.js with npm, then re-run."; exit 1; }; \
	  apt-get update -qq && apt-get install -y -qq npm >/dev/null; }
	rm -rf $(ASSETS) && mkdir -p $(ASSETS)/require $(ASSETS)/html-manager $(BUILD)/assets/npm
	cp -r "$$($(PY) -c 'import mathjax, pathlib; print(pathlib.Path(mathjax.__file__).parent / "static/mathjax/es5")')" $(ASSETS)/mathjax
	cd $(BUILD)/assets/npm && npm pack --silent @jupyter-widgets/html-manager@$(HTML_MANAGER) requirejs@$(REQUIREJS) >/dev/null
	tar -xzf $(BUILD)/assets/npm/jupyter-widgets-html-manager-$(HTML_MANAGER).tgz -C $(ASSETS)/html-manager --strip-components=2 package/dist
	tar -xzf $(BUILD)/assets/npm/requirejs-$(REQUIREJS).tgz -C $(ASSETS)/require --strip-components=1 package/require.js
	@touch $@

assets: $(ASSETS)/.stamp

# Execute the chapters that are not in the execution cache (emptied, with every edition's
# record of read pages, when course_utils changes: notebook outputs depend on it).
define execute_notebooks
@mkdir -p $(BUILD)
@sum=$$(find course_utils -name '*.py' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16); \
  if [ "$$(cat $(BUILD)/.course_utils.sum 2>/dev/null)" != "$$sum" ]; then rm -rf $(BUILD)/.jupyter_cache $(BUILD)/.doctrees*; echo $$sum > $(BUILD)/.course_utils.sum; fi
COURSE_BOOK_BUILD=1 $(PY) book/_ext/execute_parallel.py $(BUILD)/.jupyter_cache $$(sed -n 's/^ *- file: \(notebooks\/.*\)/\1.ipynb/p' _toc.yml)
endef

book: $(ASSETS)/.stamp
	$(execute_notebooks)
	@# Every edition from the same execution cache, one after the other (book/_ext/editions.py).
	COURSE_BOOK_BUILD=1 $(PY) book/_ext/editions.py html -W --keep-going -n $(EDITIONS)
	@echo "The book is in $(BUILD)/html/index.html (中文: $(BUILD)/html/zh_CN/index.html)"

# The translation catalogues follow the English: extract its text (Sphinx's gettext builder),
# merge it into book/locales/zh_CN (Babel, as msgmerge does: new paragraphs untranslated,
# changed ones fuzzy) and convert zh_TW; `python book/_ext/catalogues.py check` lists what is left.
translations: $(ASSETS)/.stamp
	$(execute_notebooks)
	COURSE_BOOK_BUILD=1 $(PY) book/_ext/editions.py gettext -W --keep-going
	$(PY) book/_ext/catalogues.py update

# A student's JupyterLab: the student copies (solutions removed, as `make release` writes them)
# in LAB_DIR. The workspace step writes only the chapters LAB_DIR lacks and never changes a
# notebook that is there; it says which chapters it added and which it left as they are.
lab: $(VENV)/.installed
	$(PY) -m course_utils workspace --language "$(LAB_LANGUAGE)" "$(LAB_DIR)"
	cd "$(LAB_DIR)" && "$(abspath $(VENV))/bin/jupyter" lab --ip=127.0.0.1 --port=8888 --no-browser

# The instructor's JupyterLab: the notebooks in notebooks/, solutions and all.
lab-instructor: $(VENV)/.installed
	cd notebooks && ../$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=8888 --no-browser

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  command -v apt-get >/dev/null || { echo "error: /usr/bin/chromium is missing and apt-get is not available. Install Debian's chromium package, then re-run."; exit 1; }; \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || { echo "error: apt-get install chromium failed (are you root?)."; exit 1; }; \
	fi
	@# A fresh Debian has no CJK font: the Chinese editions (and the English pages' 中文 terms) would
	@# show empty boxes in chromium. Debian's Noto CJK fonts are installed when no font covers Chinese.
	@if [ -z "$$(fc-list :lang=zh 2>/dev/null)" ]; then \
	  command -v apt-get >/dev/null || { echo "error: no Chinese font and apt-get is not available. Install a CJK font (Debian: fonts-noto-cjk), then re-run."; exit 1; }; \
	  echo "installing Debian's fonts-noto-cjk (Chinese text in the browser tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null || { echo "error: apt-get install fonts-noto-cjk failed (are you root?)."; exit 1; }; \
	fi

# HW02's corpus can mix in recorded voices (recorded_voice_fraction), spoken by Flite and Festival
# (Debian packages); the corpus tests speak with each of them, so make test installs them.
voices:
	@if ! command -v flite >/dev/null || ! command -v festival >/dev/null; then \
	  command -v apt-get >/dev/null || { echo "error: flite or festival is missing and apt-get is not available. Install flite, festival, festvox-kallpc16k, festvox-kdlpc16k and festvox-us-slt-hts, then re-run."; exit 1; }; \
	  echo "installing Debian's flite and festival with their voices (HW02's recorded voices)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts >/dev/null || { echo "error: apt-get install flite festival failed (are you root?)."; exit 1; }; \
	fi

# The grader isolates student code with bubblewrap (Debian package); its tests require it.
bubblewrap:
	@if ! command -v bwrap >/dev/null; then \
	  command -v apt-get >/dev/null || { echo "error: bwrap is missing and apt-get is not available. Install bubblewrap, then re-run."; exit 1; }; \
	  echo "installing Debian's bubblewrap for the grader's sandbox"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null || { echo "error: apt-get install bubblewrap failed (are you root?)."; exit 1; }; \
	fi

test: $(ASSETS)/.stamp chromium bubblewrap voices
	@# Three runs, all always: the notebooks (nbval, a whole notebook per worker) with the claims
	@# tests (one chapter's claims per worker; chapter 6's, the longest, first: tests/conftest.py)
	@# on this CPU's own code path; then tests/ (unit, book, browser, grading) in one process (they
	@# share one build of the book, and the book build and the grading tests use both cores
	@# themselves), with, beside it at the lowest priority (nice 19, its kernels too:
	@# tests/low_priority.py), the notebooks and claims again on the oldest code path (SSE4.2, as on
	@# a CPU without AVX). tests/ keeps both cores busy only part of the time; the low-priority run
	@# takes what it leaves. Its report goes to $(DEFAULT_PATH_LOG) and is printed when both are
	@# done. The status is the first failure's, in the order the reports are printed (pytest's 5,
	@# "no test collected", included).
	@status=0; \
	  echo "== notebooks and claims, this CPU's code path ($$($(PY) -c 'import torch; print(torch.backends.cpu.get_cpu_capability())'))"; \
	  $(PY) -m pytest -p tests.conftest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder notebooks tests/test_claims.py $(PYTEST_ARGS) || status=$$?; \
	  echo "== tests/, and beside it the notebooks and claims on code path DEFAULT (SSE4.2), reported after it"; \
	  $(PY) -m tests.low_priority env $(CPU_PATH_DEFAULT) $(PY) -m pytest -p tests.conftest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder -o cache_dir=$(BUILD)/.pytest_cache_default notebooks tests/test_claims.py $(PYTEST_ARGS) > $(DEFAULT_PATH_LOG) 2>&1 & default=$$!; \
	  trap 'kill $$default 2>/dev/null' INT TERM; \
	  $(PY) -m pytest tests --ignore=tests/test_claims.py $(PYTEST_ARGS) || { s=$$?; [ $$status -ne 0 ] || status=$$s; }; \
	  wait $$default; s=$$?; \
	  echo "== notebooks and claims, code path DEFAULT (SSE4.2) ($(DEFAULT_PATH_LOG))"; \
	  cat $(DEFAULT_PATH_LOG); \
	  [ $$s -eq 0 ] || [ $$status -ne 0 ] || status=$$s; \
	exit $$status

bench: $(ASSETS)/.stamp
	$(PY) -m benchmarks

release: $(VENV)/.installed
	$(PY) -m course_utils release --out release/

grade: $(VENV)/.installed bubblewrap
	$(PY) -m course_utils grade $(SUBMISSIONS) --out grades.csv --feedback-dir feedback/ --jobs $(JOBS)

clean:
	rm -rf $(BUILD) release feedback grades.csv

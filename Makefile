# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
DEMO_DIR ?= runs/demo
DEMO_MINUTES ?= 3

.PHONY: demo test venv clean lint

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PIP) install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(VENV)/bin/cgp train --plugin cgan --run-dir $(DEMO_DIR) \
		--set trainer.max_minutes=$(DEMO_MINUTES) --set trainer.steps=1500 --set trainer.progress=lines
	$(VENV)/bin/cgp evaluate $(DEMO_DIR) --json
	$(VENV)/bin/cgp report $(DEMO_DIR)
	@echo "demo done: samples in $(DEMO_DIR)/samples, report at $(DEMO_DIR)/report.html"

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) runs build dist *.egg-info

lint: $(STAMP)
	$(VENV)/bin/ruff check cgp tests benchmarks docs examples
	$(VENV)/bin/ruff format --check cgp tests benchmarks docs examples

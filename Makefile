# `make demo` and `make test` each work from a fresh clone: they create the virtual
# environment, install the pinned dependencies and the package, then run.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo test doctest notebooks lint bench lock dictionary clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . \
	  || $(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# the main job: reproduce every registered study on its synthetic cohort, reports in out/
demo: setup
	$(VENV)/bin/cohort reproduce --all --out out

# the suite includes the docstring examples (tests/test_docstring_examples.py runs `make doctest`'s command)
test: setup lint
	$(PY) -m pytest -q

# the docstring examples of the package alone (numpydoc Examples sections, with their output)
doctest: setup
	$(PY) -m pytest -q -p no:cacheprovider --doctest-modules cohort

# re-execute the study notebooks: notebooks/<study>.py (the source) -> <study>.ipynb (with outputs)
notebooks: setup
	$(PY) notebooks/execute.py

lint: setup
	$(VENV)/bin/ruff check cohort tests bench notebooks

bench: setup
	$(PY) bench/run.py

dictionary: setup
	$(VENV)/bin/cohort dictionary --out docs/data_dictionary.md

lock: setup
	$(PY) -m pip freeze --exclude-editable | grep -v '^cohort' > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache

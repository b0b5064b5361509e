# Despacho — two commands do everything on a fresh machine: `make run` and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

.PHONY: install run test lint typecheck unit bench clean

install: $(STAMP)

$(STAMP): pyproject.toml package.json package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	npm ci --no-audit --no-fund --loglevel=error
	$(PY) -m despacho.assets
	touch $(STAMP)

run: install
	$(VENV)/bin/despacho demo
	DESPACHO_FAKE_DELIVERY_SECONDS=$${DESPACHO_FAKE_DELIVERY_SECONDS:-2} $(VENV)/bin/despacho serve

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/despacho flows check
	$(VENV)/bin/pytest -q -p no:cacheprovider -n 2 --dist loadgroup

unit: install
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/unit

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) node_modules api/static/vendor var .pytest_cache .mypy_cache .ruff_cache

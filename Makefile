# Despacho — two commands do everything on a fresh machine: `make run` and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
# uv.lock is the resolution; pip installs from its hashed exports (the `build` group: the setuptools the
# editable install builds with). `make lock` keeps every pin it can; `make lock UPGRADE=--upgrade` moves them.
LOCK     := requirements.txt
DEV_LOCK := requirements-dev.txt
UV      := $(VENV)/bin/uv
EXPORT  := $(UV) export --frozen --no-emit-project --no-default-groups --group build --extra s3 --quiet

.PHONY: install run test lint typecheck unit bench lock clean

install: $(STAMP)

$(STAMP): $(DEV_LOCK) pyproject.toml package.json package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(DEV_LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	npm ci --no-audit --no-fund --loglevel=error
	$(PY) -m despacho.assets
	touch $(STAMP)

lock: install
	$(UV) lock --python 3.11 $(UPGRADE)
	$(EXPORT) -o $(LOCK)
	$(EXPORT) --extra dev -o $(DEV_LOCK)
	rm -f $(STAMP)

run: install
	$(VENV)/bin/despacho demo
	DESPACHO_FAKE_DELIVERY_SECONDS=$${DESPACHO_FAKE_DELIVERY_SECONDS:-2} $(VENV)/bin/despacho serve

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/despacho flows check
	$(VENV)/bin/pytest -q -p no:cacheprovider -n 2 --dist loadgroup --record-routes=var/test-routes.json

unit: install
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/unit

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) node_modules api/static/vendor var .pytest_cache .mypy_cache .ruff_cache

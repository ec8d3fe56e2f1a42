VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: serve test lint bench clean

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/outbound db upgrade
	$(VENV)/bin/outbound serve

lint: $(STAMP)
	$(VENV)/bin/ruff check outbound tests bench
	$(VENV)/bin/ruff format --check outbound tests bench
	$(VENV)/bin/mypy outbound

test: lint
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(PY) bench/ingest.py && $(PY) bench/dispatch.py && $(PY) bench/lag.py && \
		$(PY) bench/memory.py

clean:
	rm -rf $(VENV) outbound.db outbound.db-wal outbound.db-shm

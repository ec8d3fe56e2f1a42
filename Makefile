VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: serve test lint bench clean chromium

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

# The dashboard's browser tests drive Debian's Chromium; a fresh machine does not have it.
chromium:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium)

test: lint chromium
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(PY) bench/ingest.py && $(PY) bench/dispatch.py && $(PY) bench/lag.py && \
		$(PY) bench/memory.py

clean:
	rm -rf $(VENV) outbound.db outbound.db-wal outbound.db-shm

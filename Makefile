VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# What serving needs, and the development tools on top: installed at the versions pinned in
# requirements/ (made by `make lock`), so that a new release cannot break a fresh machine.
SERVE_STAMP := $(VENV)/.installed-serve
DEV_STAMP := $(VENV)/.installed-dev
LOCK_VENV := .venv-lock
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: serve test lint bench clean chromium lock

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(SERVE_STAMP): $(PY) pyproject.toml requirements/serve.txt
	$(PIP) install --quiet -c requirements/serve.txt -e .
	touch $@

$(DEV_STAMP): $(SERVE_STAMP) requirements/dev.txt
	$(PIP) install --quiet -c requirements/dev.txt -e '.[dev]'
	touch $@

serve: $(SERVE_STAMP)
	$(VENV)/bin/outbound db upgrade
	$(VENV)/bin/outbound serve

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check outbound tests bench
	$(VENV)/bin/ruff format --check outbound tests bench
	$(VENV)/bin/mypy outbound

# The dashboard's browser tests drive Debian's Chromium; a fresh machine does not have it.
chromium:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium)

# Test files are spread over two processes (pytest-xdist), a file's tests in one of them: the
# suite waits on real servers and clocks most of the time, and the machine has two cores.
TEST_PROCESSES ?= 2

test: lint chromium
	$(VENV)/bin/pytest -n $(TEST_PROCESSES) --dist loadfile

bench: $(SERVE_STAMP)
	$(PY) bench/ingest.py && $(PY) bench/dispatch.py && $(PY) bench/lag.py && \
		$(PY) bench/memory.py

# Pin again the newest versions that pyproject.toml allows, in a throwaway virtualenv: what
# serving needs in requirements/serve.txt, everything `make test` needs in requirements/dev.txt
# (the same versions of what they share). Then run `make test` and commit both files.
# LOCK_FROM="-c file" starts from given versions instead of the newest.
LOCK_FROM ?=
lock:
	rm -rf $(LOCK_VENV)
	python3 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/pip install --quiet $(LOCK_FROM) -e .
	(echo "# What serving needs, pinned by \`make lock\`: pip install -c requirements/serve.txt -e ."; \
		$(LOCK_VENV)/bin/pip freeze --exclude-editable) > requirements/serve.txt
	$(LOCK_VENV)/bin/pip install --quiet $(LOCK_FROM) -c requirements/serve.txt -e '.[dev]'
	(echo "# What \`make test\` needs, pinned by \`make lock\`: pip install -c requirements/dev.txt -e '.[dev]'"; \
		$(LOCK_VENV)/bin/pip freeze --exclude-editable) > requirements/dev.txt
	rm -rf $(LOCK_VENV)

clean:
	rm -rf $(VENV) $(LOCK_VENV) outbound.db outbound.db-wal outbound.db-shm

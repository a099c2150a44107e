# The two commands of the README: `make up` runs tousu, `make test` tests it.
# Both build .venv from scratch with Python 3.11+ and install nothing globally.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
# pytest workers; each test has its own database and subject root, so they
# never see each other's data.
TEST_WORKERS ?= 2
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: up test lint typecheck contracts module-map unit bench clean system-deps

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tousu needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

## Run the whole system (embedded NATS and PostgreSQL unless TOUSU_*_URL are set).
up: $(STAMP)
	$(BIN)/tousu up

## Lint, type-check and run every test (what CI runs).
test: $(STAMP) system-deps lint typecheck contracts
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

## Debian's chromium (browser tests), a CJK font for its screenshots and
## poppler-utils (PDF checks), when missing.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null; then \
	    echo "tests need:$$missing (Debian package names); install them and run again"; exit 1; \
	  fi; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "installing$$missing for the browser and PDF tests"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check shared services tousu tests bench
	$(BIN)/ruff format --check shared services tousu tests bench

typecheck: $(STAMP)
	$(BIN)/mypy -p tousu

## The import contracts in .importlinter: the domain does no I/O, shared/
## imports no service, a service uses another only through its views, nothing
## imports the CLI.
contracts: $(STAMP)
	$(BIN)/lint-imports --no-cache

## Rewrite the module map in docs/architecture.md from the modules' docstrings.
module-map: $(STAMP)
	$(BIN)/python -m tests.architecture.module_map

bench: $(STAMP)
	$(BIN)/tousu bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .grimp_cache .import_linter_cache

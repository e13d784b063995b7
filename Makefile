# The targets CI and people call; ./bootstrap installs what they need first.
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: tour test unit integration lint typecheck bench lock

tour:
	scripts/tour

test: lint
	$(BIN)/python -m pytest -q --durations=20 tests

unit:
	$(BIN)/python -m pytest -q tests/unit

integration:
	$(BIN)/python -m pytest -q tests/integration

lint:
	$(BIN)/ruff check opsctl inventory monitoring backup agents playbooks lab tests $(wildcard bench/*.py bench/corpus/*.py bench/fanout bench/corpus-accuracy bench/agent bench/backup bench/poller) scripts/product-tables scripts/identity-objects scripts/role-tables scripts/mibtext.py
	$(BIN)/mypy

bench:
	$(BIN)/python bench/fanout

# Re-lock after changing dependencies in pyproject.toml.
lock:
	$(BIN)/python -m pip freeze --exclude-editable --exclude opsctl --exclude fake-switches > requirements.lock

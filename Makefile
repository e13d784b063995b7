# The targets CI and people call; ./bootstrap installs what they need first.
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: tour test unit integration lint typecheck bench lock

tour:
	scripts/tour

# tests/unit run beside tests/integration, whose lab waits on servers more than it computes: on two cores
# that saves the unit tests' two or three minutes; their output follows the integration tests'.
test: lint
	@unit_log=$$(mktemp); \
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit >"$$unit_log" 2>&1 & unit=$$!; \
	trap 'kill $$unit 2>/dev/null; rm -f "$$unit_log"' EXIT; \
	$(BIN)/python -m pytest -q --durations=20 tests/integration; integration=$$?; \
	wait $$unit; unit_status=$$?; \
	echo "== tests/unit (run beside tests/integration): exit $$unit_status"; cat "$$unit_log"; \
	test $$integration -eq 0 && test $$unit_status -eq 0

unit:
	$(BIN)/python -m pytest -q tests/unit

integration:
	$(BIN)/python -m pytest -q tests/integration

lint:
	$(BIN)/ruff check opsctl inventory monitoring backup agents playbooks lab tests $(wildcard bench/*.py bench/corpus/*.py bench/fanout bench/corpus-accuracy bench/agent bench/backup bench/poller bench/startup-floor) scripts/product-tables scripts/identity-objects scripts/role-tables scripts/mibtext.py
	$(BIN)/mypy

bench:
	$(BIN)/python bench/fanout

# Re-lock after changing dependencies in pyproject.toml.
lock:
	$(BIN)/python -m pip freeze --exclude-editable --exclude opsctl --exclude fake-switches > requirements.lock

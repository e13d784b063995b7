"""The step journal's store tests (tests/unit/core/test_steps.py) once more, on the lab's real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from opsctl.core.state import StateStore
from tests.unit.core.test_steps import (  # noqa: F401  the same tests, on PostgreSQL
    test_recorded_steps_round_trip_in_position_order,
    test_recording_a_step_again_replaces_it,
    test_resume_run_reopens_a_run_and_refuses_one_still_running,
    test_unknown_step_outcomes_are_refused_before_anything_is_written,
)

if TYPE_CHECKING:
    from tests.integration.conftest import PostgresDatabase

pytestmark = pytest.mark.integration


@pytest.fixture
def store(postgres_database: PostgresDatabase) -> Iterator[StateStore]:
    """A state store in this test's own new database on the lab's PostgreSQL, with run r1 begun."""
    with StateStore(postgres_database.url, password=postgres_database.password) as opened:
        opened.begin_run("r1", "patch", "patch all", "web", "alice")
        yield opened

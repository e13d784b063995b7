"""How the poller fits each device's GETBULK size to what the device answered (pure, on the client's notes)."""

from __future__ import annotations

from monitoring.poller.poll import MAX_REPETITIONS, DeviceState, _tune


def test_a_small_table_gets_one_request_per_column() -> None:
    state = DeviceState()
    _tune(state, [], longest_table=8)
    assert state.repetitions == 9  # eight rows and the first OID past the column, in one answer


def test_a_long_table_is_capped_at_the_ceiling() -> None:
    state = DeviceState()
    _tune(state, [], longest_table=500)
    assert state.repetitions == MAX_REPETITIONS


def test_a_device_that_needed_smaller_requests_keeps_them_as_its_ceiling() -> None:
    state = DeviceState()
    _tune(state, ["1.3.6.1.2.1.2.2.1.2: tooBig; GETBULK max-repetitions 6"], longest_table=40)
    assert (state.repetitions, state.ceiling) == (6, 6)
    _tune(state, [], longest_table=40)
    assert state.repetitions == 6  # never grown past what the device could answer


def test_a_device_that_fell_back_to_getnext_asks_one_row_at_a_time() -> None:
    state = DeviceState()
    _tune(state, ["1.3.6.1.2.1.2.2.1.2: falling back to GETNEXT"], longest_table=3)
    assert (state.repetitions, state.ceiling) == (1, 1)


def test_nothing_answered_changes_nothing() -> None:
    state = DeviceState(repetitions=12)
    _tune(state, [], longest_table=0)
    assert state.repetitions == 12

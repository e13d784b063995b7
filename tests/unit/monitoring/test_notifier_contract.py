"""The shared contract every registered notifier passes: it delivers to a receiver that answers, and says so when one does not.

No notifier exists yet: the monitoring issue's notifiers (and third parties' entry points in
``opsctl.notifiers``) are picked up here once registered, each with a case in ``CASES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pytest

from monitoring.notifiers import NOTIFIERS, DeliveryFailed, Notification, Notifier
from opsctl.core.errors import UsageError

NOTIFIER_NAMES = list(NOTIFIERS.names())
CANARY = "s3cret-notifier-canary"


@dataclass(frozen=True)
class ContractCase:
    """A notifier's test receiver: started as a context giving its settings and what it received, and the settings of one that is down.

    ``down`` holds a secret reference to an environment variable the test sets to ``CANARY``.
    """

    receiver: Callable[[], AbstractContextManager[tuple[Mapping[str, str], Callable[[], list[str]]]]]
    down: Mapping[str, str]


CASES: dict[str, ContractCase] = {}

NOTIFICATION = Notification(id="abc123:firing:1", status="firing", summary="disk full", labels={"host": "db1"})


def _case(name: str) -> ContractCase:
    case = CASES.get(name)
    if case is None:
        pytest.fail(f"notifier {name} has no contract case: add its test receiver to CASES")
    return case


def test_the_kind_is_declared_under_its_entry_point_group() -> None:
    assert (NOTIFIERS.kind, NOTIFIERS.group, NOTIFIERS.protocol) == ("notifier", "opsctl.notifiers", Notifier)


@pytest.fixture
def memory_notifier() -> Iterator[Notifier]:
    class MemoryNotifier:
        name = "test-memory"

        def deliver(self, notification: Notification, receiver: Mapping[str, str]) -> None:
            raise DeliveryFailed("the test receiver is always down")

    notifier = MemoryNotifier()
    NOTIFIERS.register(notifier)
    yield notifier
    NOTIFIERS.deregister(notifier.name)


def test_a_notifier_registers_like_any_plugin(memory_notifier: Notifier) -> None:
    assert NOTIFIERS.get("test-memory") is memory_notifier
    with pytest.raises(UsageError, match="does not satisfy Notifier"):
        NOTIFIERS.register(object())  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NOTIFIER_NAMES)
def test_satisfies_the_protocol_and_is_found_by_name(name: str) -> None:
    notifier = NOTIFIERS.get(name)
    assert isinstance(notifier, Notifier)
    assert notifier.name == name


@pytest.mark.parametrize("name", NOTIFIER_NAMES)
def test_delivers_to_a_receiver_that_answers_and_again_on_a_retry(name: str) -> None:
    with _case(name).receiver() as (receiver, received):
        NOTIFIERS.get(name).deliver(NOTIFICATION, receiver)
        NOTIFIERS.get(name).deliver(NOTIFICATION, receiver)  # at least once: a retry is allowed
        assert received() and set(received()) == {NOTIFICATION.id}


@pytest.mark.parametrize("name", NOTIFIER_NAMES)
def test_a_receiver_that_is_down_is_a_delivery_failure_without_secrets(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSCTL_TEST_NOTIFIER_SECRET", CANARY)
    with pytest.raises(DeliveryFailed) as raised:
        NOTIFIERS.get(name).deliver(NOTIFICATION, _case(name).down)
    assert CANARY not in f"{raised.value} {raised.value.hint}"

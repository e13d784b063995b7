"""Notifiers: each delivers alert notifications to one kind of receiver (a webhook, e-mail, a pager gateway).

The kind is declared here before any notifier exists, so that the monitoring issue's
notifiers, and third parties through an entry point in the ``opsctl.notifiers`` group, only
register in :data:`NOTIFIERS` (a registry of :mod:`opsctl.core.plugins`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from opsctl.core.errors import OpsctlError
from opsctl.core.plugins import PluginRegistry


@dataclass(frozen=True)
class Notification:
    """One message about one alert.

    ``id`` is the same for every retry of this message and differs for any other message (it
    is made of the alert's fingerprint, its status and a sequence number), so a receiver can
    deduplicate on it and a resolution or an escalation is never mistaken for a repeat.
    """

    id: str
    status: Literal["firing", "resolved"]
    summary: str
    labels: Mapping[str, str] = field(default_factory=dict)


class DeliveryFailed(OpsctlError, ConnectionError):
    """The receiver did not accept a notification (down, refused, timed out): the queue keeps it and retries."""


@runtime_checkable
class Notifier(Protocol):
    """Delivers notifications to one kind of receiver.

    Contract: ``deliver`` returns once the receiver has accepted ``notification`` and raises
    :class:`DeliveryFailed` when it has not; delivery is at least once, so it may be called
    again with a notification the receiver already has. ``receiver`` holds that receiver's
    settings as configured, secrets as references the notifier resolves at use; no secret
    appears in an exception, a log line or the message sent.
    """

    @property
    def name(self) -> str:
        """The receiver type, as configuration names it (``webhook``, ``email``)."""
        ...

    def deliver(self, notification: Notification, receiver: Mapping[str, str]) -> None:
        """Deliver ``notification`` to ``receiver``; raise :class:`DeliveryFailed` if it was not accepted."""
        ...


NOTIFIERS: PluginRegistry[Notifier] = PluginRegistry(
    "notifier", "opsctl.notifiers", Notifier, name_of=lambda notifier: notifier.name
)

__all__ = ["NOTIFIERS", "DeliveryFailed", "Notification", "Notifier"]

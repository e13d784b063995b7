"""The shapes the monitoring daemon reads from every metric source, as the poller and NUT use them.

They are :mod:`monitoring.sources`' own (:class:`MetricSource`, :class:`Reading`): one
definition, which ``opsctl monitor serve/once`` and ``opsctl health`` read.
"""

from __future__ import annotations

from monitoring.sources import STATES, MetricSource, Reading

__all__ = ["STATES", "MetricSource", "Reading"]

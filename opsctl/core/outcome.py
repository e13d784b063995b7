"""The project's one outcome vocabulary and its one rule from outcomes to exit codes.

Every result opsctl reports for a host, a device, a step or an item uses :class:`Outcome`:

- ``ok``: done, nothing needed changing;
- ``changed``: done, and something was changed;
- ``failed``: tried and failed (a refused host key, a command's bad exit status, a timeout);
- ``unreachable``: the host or device did not answer;
- ``skipped``: never reached: a halted or interrupted run stopped before it;
- ``partial``: a run of many items (or steps) that did some of them and stopped short, so
  the target was left part-way (a host whose patch step changed it and whose reboot failed,
  a device that answered some tables and not others).

:func:`exit_code_for_outcomes` is DESIGN.md's exit-code table for them; interruptions (130,
143, 129) are decided by whoever saw the signal, not from outcomes. This module is imported
by the fleet executor, the state store and the domain packages; keep it light.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable

from opsctl.core.errors import ExitCode


class Outcome(enum.StrEnum):
    """The outcome of a host, device, step or item (see the module's docstring)."""

    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"
    PARTIAL = "partial"


# the outcomes of something that completed its work (a step that need not run again)
DONE_OUTCOMES = frozenset({Outcome.OK, Outcome.CHANGED})
# the outcomes that stop a host's remaining steps
STOPPING_OUTCOMES = frozenset({Outcome.FAILED, Outcome.UNREACHABLE, Outcome.PARTIAL})


def exit_code_for_outcomes(outcomes: Iterable[Outcome | str], *, halted: bool = False) -> ExitCode:
    """Return DESIGN.md's exit code for the outcomes of one run's hosts (or devices, or items).

    0 nothing failed (every outcome ok or changed, or none at all); 4 only unreachable ones
    besides those, and the run was not ``halted`` (no budget spent, no gate closed); 1 nothing
    succeeded (only failed and unreachable ones); 5 the run was ``halted`` before anything was
    done (every outcome skipped: a gate refused the first wave); 3 partly done otherwise: some
    failed and some succeeded, or any ``partial``, or any ``skipped`` (a halted run's untouched
    hosts). A refused host key is ``failed``.
    """
    counts = Counter(Outcome(outcome) for outcome in outcomes)
    total = sum(counts.values())
    succeeded = counts[Outcome.OK] + counts[Outcome.CHANGED]
    failed, skipped, partial = counts[Outcome.FAILED], counts[Outcome.SKIPPED], counts[Outcome.PARTIAL]
    if succeeded == total:
        return ExitCode.OK
    if halted and skipped == total:
        return ExitCode.REFUSED
    if failed == 0 and skipped == 0 and partial == 0 and not halted:
        return ExitCode.UNREACHABLE
    if succeeded == 0 and skipped == 0 and partial == 0:
        return ExitCode.FAILED
    return ExitCode.PARTIAL


def outcome_of_steps(steps: Iterable[tuple[Outcome | str, bool]]) -> Outcome:
    """Return a host's outcome from its steps' ``(outcome, changed)`` pairs, in order.

    ``ok`` when every step is ok (or there are none); ``changed`` when every step completed
    (ok or changed) and one changed something; ``skipped`` when no step ran. Otherwise the host
    stopped short (a failed, unreachable or partial step, or steps left ``skipped`` by an
    interruption): ``partial`` if any step changed something before it stopped (the host was
    left part-way), else the first stopping step's outcome (``failed`` or ``unreachable``), or
    ``failed`` when it was only left unfinished. A step with nothing to do reports ``ok``, never
    ``skipped``: ``skipped`` means a step never ran.
    """
    pairs = [(Outcome(outcome), changed) for outcome, changed in steps]
    if all(outcome == Outcome.OK for outcome, _ in pairs):
        return Outcome.OK
    if all(outcome in DONE_OUTCOMES for outcome, _ in pairs):
        return Outcome.CHANGED
    if all(outcome == Outcome.SKIPPED for outcome, _ in pairs):
        return Outcome.SKIPPED
    worked = any(changed or outcome in (Outcome.CHANGED, Outcome.PARTIAL) for outcome, changed in pairs)
    if worked:
        return Outcome.PARTIAL
    stopping = next((outcome for outcome, _ in pairs if outcome in STOPPING_OUTCOMES), None)
    return stopping if stopping is not None else Outcome.FAILED

"""Every test's shared set-up (unit and integration).

Ctrl-C is part of what the tests check (a fleet run, a step, a scan interrupted): they send
SIGINT to their own process and expect Python's KeyboardInterrupt. A shell starts a background
job (``cmd &`` without job control, ``nohup``, some CI runners) with SIGINT ignored, and Python
then keeps it ignored (and so do the programs the tests start); so the tests restore Python's own
handler, as an interactive run has it.
"""

from __future__ import annotations

import signal

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

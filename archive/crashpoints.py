"""Named instants at which the kill test (tests/test_resume.py) stops a crawl dead.

``STORYCRAWL_KILL_AT=NAME:N`` makes the Nth pass through the point NAME send SIGKILL to
its own process; unset (always, outside that test) a point costs a string comparison.
The points are where a kill does the most harm: ``commit``, inside a database transaction
after its statements ran; ``warc``, halfway through writing a record. Kills at random
instants need no hook: the test sends them from outside.
"""

from __future__ import annotations

import os
import signal

_NAME, _, _COUNT = os.environ.get("STORYCRAWL_KILL_AT", "").partition(":")
_passes = 0


def crash_point(name: str) -> None:
    global _passes
    if name != _NAME:
        return
    _passes += 1
    if _passes == int(_COUNT or 1):
        os.kill(os.getpid(), signal.SIGKILL)

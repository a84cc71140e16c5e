"""Named places where a test can make this process die, to prove what survives a crash there.

`HAMP_FAILPOINTS` (comma-separated names, read once at start) arms them; unset, as in every
deployment, `reached()` is one set lookup. An armed point kills the process the way a power cut
would: SIGKILL, so no cleanup runs, no answer is sent and an open transaction never commits.
The names are listed in docs/pharmacy.md ("Never both") next to the steps they sit between.
"""

from __future__ import annotations

import os
import signal

ARMED = frozenset(name.strip() for name in os.environ.get("HAMP_FAILPOINTS", "").split(",") if name.strip())


def reached(name: str) -> None:
    if name in ARMED:
        os.kill(os.getpid(), signal.SIGKILL)

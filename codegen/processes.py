"""Whether a process of this machine still runs: how leftovers of killed runs are told apart."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while process ``pid`` exists (another user's included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True

"""How long a history write waits for a lock another process holds (SQLite's busy timeout).

Another lmtui (an import of a large history, say) or a ``sqlite3`` shell may hold the
history database's write lock. A write then waits up to this long before it is reported
("database is locked"): 5 s, or ``LMTUI_HISTORY_BUSY_TIMEOUT`` seconds. ``lmtui ask``
waits it once before answering without history; the app's history worker waits at most
1 s per try (it retries anyway).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from lmtui.backend.errors import ConfigError

__all__ = ["BUSY_TIMEOUT_ENV", "DEFAULT_BUSY_TIMEOUT", "history_busy_timeout"]

BUSY_TIMEOUT_ENV = "LMTUI_HISTORY_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT = 5.0


def history_busy_timeout(env: Mapping[str, str] | None = None) -> float:
    """Seconds a history write waits for another connection's lock.

    ``env`` (default: the process's environment) may set ``LMTUI_HISTORY_BUSY_TIMEOUT``
    to a number of seconds, 0 or more; unset or empty, the default 5 s. Raises
    :class:`~lmtui.backend.errors.ConfigError` for any other value.
    """
    raw = (os.environ if env is None else env).get(BUSY_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_BUSY_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds < math.inf:  # NaN fails both ways
        raise ConfigError(
            f"{BUSY_TIMEOUT_ENV} must be a number of seconds, 0 or more.",
            f"Set it to, for example, 0.5, or unset it for the default {DEFAULT_BUSY_TIMEOUT:g} s.",
        )
    return seconds

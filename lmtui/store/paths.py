"""Where lmtui keeps its files (platformdirs; XDG_* honoured on Linux)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir, user_state_dir

APP = "lmtui"


def config_dir() -> Path:
    """Directory of ``config.toml``, ``presets/`` and ``themes/``."""
    return Path(user_config_dir(APP, appauthor=False))


def data_dir() -> Path:
    """Directory of the history database and drafts."""
    return Path(user_data_dir(APP, appauthor=False))


def state_dir() -> Path:
    """Directory of logs and the embedded server's state."""
    return Path(user_state_dir(APP, appauthor=False))


def config_file() -> Path:
    """The main config file."""
    return config_dir() / "config.toml"


def presets_dir() -> Path:
    """User presets, one TOML file each."""
    return config_dir() / "presets"


def themes_dir() -> Path:
    """User themes, one TOML file each."""
    return config_dir() / "themes"


def history_db() -> Path:
    """The SQLite history database."""
    return data_dir() / "history.sqlite3"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the user alone (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Not ours to change on e.g. a shared mount; the files inside are still 0600.
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    return path


def private_file_opener(path: str, flags: int) -> int:
    """An ``open(opener=...)`` that creates files 0600."""
    return os.open(path, flags, 0o600)

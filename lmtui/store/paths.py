"""Where lmtui keeps its files (platformdirs; XDG_* honoured on Linux)."""

from __future__ import annotations

import contextlib
import os
import stat
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
    # Close it down, never open it up: a directory the user made read-only stays so
    # (and history reports it cannot write). Not ours to change on e.g. a shared mount.
    close_down(path, 0o700)
    return path


def private_file_opener(path: str, flags: int) -> int:
    """An ``open(opener=...)`` that creates files 0600."""
    return os.open(path, flags, 0o600)


def close_down(path: Path | str, private: int = 0o600) -> None:
    """Take group and other permissions off ``path``, never following a symlink.

    Only ever removes bits (``private`` is the most it keeps): a file the user made
    read-only stays read-only, and a symlink's target is not touched.
    """
    with contextlib.suppress(OSError):
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            return
        mode = stat.S_IMODE(st.st_mode)
        if mode & ~private:
            os.chmod(path, mode & private)

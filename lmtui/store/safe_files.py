"""Safe reads and writes of the files a user names: outputs, exports, config, imports.

One policy for every file lmtui writes on request (``batch --out``, ``history export
--out``) and every file it reads that a user may point anywhere (config, presets,
imports):

- writes go to regular files only, or to an explicit stream (``-``); a symlink, a
  device (``/dev/null``, ``/dev/full``), a FIFO or a directory is refused before any
  work is done, never followed and never replaced;
- a file is replaced only through a private temporary file in the same directory and
  ``os.replace``, and only while the path is still a regular file; files end 0600;
- an existing file is rewritten only when it is lmtui's own output or the user forced it;
- reads open without blocking (a FIFO with no writer cannot hang), accept regular files
  only and stop at a size bound (``/dev/zero`` cannot eat memory).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from lmtui.backend.errors import ConfigError

STREAM = "-"
MAX_TEXT_BYTES = 4 * 1_048_576  # a config, preset or theme file
MAX_IMPORT_BYTES = 512 * 1_048_576  # a history import

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UnsafeFile(ConfigError):
    """A path lmtui will not read or write as asked (a link, a device, another file)."""

    kind = "unsafe_file"
    default_remedy = "Name a regular file (or - for standard output)."


def _what(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_output_path(path: Path) -> bool:
    """Raise :class:`UnsafeFile` unless ``path`` is absent or a regular file; True if present.

    The path itself is examined (``lstat``): a symlink is refused even when it points at
    a regular file, so lmtui never writes somewhere other than the name given.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise UnsafeFile(f"Cannot use {path}: {exc.strerror or exc}.") from None
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFile(
            f"Will not write to {path}: it is {_what(st.st_mode)}, not a regular file.",
        )
    return True


def _open_private(path: Path, flags: int) -> int:
    """``os.open`` a regular file 0600 without following a final symlink."""
    try:
        fd = os.open(path, flags | _NOFOLLOW | _CLOEXEC, 0o600)
    except OSError as exc:
        if _NOFOLLOW and exc.errno == 40:  # ELOOP: the name is a symlink
            raise UnsafeFile(f"Will not write to {path}: it is a symbolic link.") from None
        raise UnsafeFile(
            f"Cannot write {path}: {exc.strerror or exc}.",
            "Choose a file in a directory you can write to.",
        ) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise UnsafeFile(f"Will not write to {path}: it is {_what(st.st_mode)}.")
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o600)  # the fd, never the name: a link's target is not touched
    return fd


def open_append(path: Path) -> BinaryIO:
    """Open ``path`` to append, creating it 0600; refuses anything but a regular file.

    The descriptor is also readable (``os.pread``), for a look at what is there.
    """
    check_output_path(path)
    fd = _open_private(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
    return os.fdopen(fd, "ab")


def replace_file(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Replace ``path`` with what ``write`` writes, atomically, 0600.

    The new text goes to a private temporary file next to ``path``; it is renamed over
    ``path`` only while ``path`` is still absent or a regular file.
    """
    check_output_path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = _open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        check_output_path(path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_new(path: Path, data: bytes, *, force: bool = False) -> None:
    """Write ``data`` to ``path`` 0600: a new file, or a regular file replaced when ``force``."""
    if check_output_path(path) and not force:
        raise UnsafeFile(
            f"{path} already exists; lmtui will not overwrite it.",
            "Pass --force to replace it, or choose another file.",
        )
    try:
        replace_file(path, lambda fh: fh.write(data))
    except OSError as exc:
        raise UnsafeFile(
            f"Cannot write {path}: {exc.strerror or exc}.",
            "Choose a file in a directory you can write to, on a disk with room.",
        ) from None


def read_bounded(path: Path, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (symlinks followed), at most ``limit``.

    Raises :class:`UnsafeFile` for a FIFO, a device or a directory, or a file larger
    than ``limit``; ``OSError`` (e.g. permission denied) passes through for the caller
    to word.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(
                f"Cannot read {path}: it is {_what(st.st_mode)}, not a regular file.",
                "Point lmtui at a regular file.",
            )
        if st.st_size > limit:
            raise UnsafeFile(
                f"Cannot read {path}: it is larger than {limit // 1_048_576} MB.",
                "Point lmtui at a smaller file.",
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in iter(lambda: os.read(fd, 1_048_576), b""):
            size += len(chunk)
            if size > limit:  # it grew while being read
                raise UnsafeFile(f"Cannot read {path}: it is larger than {limit // 1_048_576} MB.")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def lines_of(path: Path) -> Iterator[bytes]:
    """The lines of a regular file, streamed (for outputs that may be large)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _CLOEXEC)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise UnsafeFile(f"Cannot read {path}: it is not a regular file.")
        yield from fh

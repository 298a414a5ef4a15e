"""The conversation history: SQLite (WAL, FTS5) in the user's data directory.

Every reply is persisted while it streams (:class:`ReplyWriter`), so a crash,
a kill or a power cut loses at most the last second of text; a reply whose
writer died shows as ``interrupted`` the next time the store opens. When the
database cannot be used (unwritable or full disk, locked, corrupt) the store
raises :class:`HistoryUnavailable` and callers carry on without history.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import json
import os
import socket
import sqlite3
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from lmtui.backend.errors import LmtuiError
from lmtui.backend.urls import display_url
from lmtui.store.history_native import (
    FACT_COLUMNS,
    ReplyFacts,
    insert_tool_calls,
    replace_tool_calls,
    tool_calls_of,
)
from lmtui.store.history_records import ConversationSummary, MessageRecord, SearchHit
from lmtui.store.history_schema import (
    CURRENT_VERSION,
    ROLES,
    STATES,
    NewerSchema,
    bulk_index,
    drop_insert_triggers,
    migrate,
    schema_version,
)
from lmtui.store.lock_wait import history_busy_timeout
from lmtui.store.paths import close_down, ensure_private_dir, history_db, private_file_opener
from lmtui.store.safe_files import MAX_IMPORT_BYTES, read_bounded
from lmtui.store.search_candidates import (
    CANDIDATES,
    Chosen,
    SearchHits,
    rank_candidates,
    snippets,
)

if TYPE_CHECKING:
    # Imported when first used, so `lmtui history search`, `ask` and the app start without them.
    from asyncio import TimerHandle

    from lmtui.backend.types import ToolCall
    from lmtui.store.history_export import ConversationData, MessageData

__all__ = [
    "ConversationNotFound",
    "ConversationSummary",
    "HistoryInputError",
    "HistoryStore",
    "HistoryUnavailable",
    "MessageRecord",
    "ReplyWriter",
    "SearchHit",
    "SearchHits",
    "WriteQueue",
    "fts_query",
    "make_title",
]

DEFAULT_MARKS = ("«", "»")
TITLE_LENGTH = 60
UNTITLED = "Untitled"
# A streaming reply written on another host cannot be checked for a live writer;
# after this long without a write it is taken for dead.
REMOTE_WRITER_STALE = 3600.0
# Mid-reply flushes wait this long for a lock, not the full busy timeout, so a
# busy database never stalls a stream; the text stays buffered and is retried.
FLUSH_BUSY_TIMEOUT_MS = 250
INTERRUPTED_NOTE = "lmtui stopped before this reply finished"
SQLITE_FULL = 13  # sqlite3.SQLITE_FULL; the primary code a full disk gives
# A title match counts this many times a message match in a search's ranking.
TITLE_WEIGHT = 2.0


class WriteQueue(Protocol):
    """Where a :class:`ReplyWriter` hands its saves (``store.write_worker.WriteWorker``)."""

    def submit(
        self, what: str, job: Callable[[HistoryStore], object], key: Hashable | None = None
    ) -> None:
        """Queue ``job`` to run with a store of its own; a waiting job of ``key`` is replaced."""


class HistoryUnavailable(LmtuiError):
    """The history database cannot be used; the caller goes on without it."""

    exit_code = 11
    kind = "history_unavailable"
    default_remedy = "Check the data directory (see `lmtui history --help`) is writable."


class ConversationNotFound(LmtuiError):
    """No conversation (or message) has that id."""

    exit_code = 12
    kind = "not_found"
    default_remedy = "List conversations with `lmtui history list` (or search them)."


class HistoryInputError(LmtuiError):
    """A file to import, or a value given, cannot be used; nothing was changed."""

    exit_code = 2
    kind = "bad_input"
    default_remedy = "Fix the input at the place named and run the command again."


class _Unset(enum.Enum):
    UNSET = 0


UNSET: Literal[_Unset.UNSET] = _Unset.UNSET


def fts_query(text: str, *, prefix: bool = False) -> str | None:
    """An FTS5 query matching every word of ``text``, or None when it has no words.

    Each word is quoted, so FTS5 syntax in user text (``"``, ``*``, ``-``, ``:``,
    ``AND``, ``NEAR``) is searched for literally instead of being interpreted.
    """
    # FTS5's query parser stops at a NUL byte, leaving an unterminated string.
    words = [w for w in text.replace("\0", " ").split() if any(ch.isalnum() for ch in w)]
    if not words:
        return None
    terms = ['"' + w.replace('"', '""') + '"' for w in words]
    if prefix:
        terms[-1] += "*"
    return " ".join(terms)


def make_title(text: str) -> str:
    """A title from a first prompt: its first non-blank line, trimmed to ~60 characters."""
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            break
    else:
        return UNTITLED
    if len(line) <= TITLE_LENGTH:
        return line
    cut = line[: TITLE_LENGTH - 1]
    space = cut.rfind(" ")
    if space >= TITLE_LENGTH // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def _remedy(reason: str, path: Path) -> str:
    low = reason.lower()
    if "locked" in low or "busy" in low:
        return "Another program is writing the history database; close other lmtui instances."
    if "full" in low or "no space" in low:
        return f"Free some disk space where {path.parent} lives."
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return (
            f"Move {path} aside (lmtui starts a new history) and restore a backup if you have one."
        )
    if "newer" in low:
        return "Upgrade lmtui: this history was written by a newer version."
    if "readonly" in low or "read-only" in low:
        return f"{path} is read-only; make it writable (chmod u+w {path}) to save history again."
    return f"Make {path.parent} writable by you, or set XDG_DATA_HOME to a writable place."


def _disk_full(exc: BaseException) -> bool:
    """True when ``exc`` is a full disk: SQLite's SQLITE_FULL or the system's ENOSPC."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and (
        (code is not None and code & 0xFF == SQLITE_FULL) or "disk is full" in str(exc)
    )


def _url(server: str | None) -> str | None:
    """A server URL as it may be stored: ``user:password@`` never reaches the database."""
    return display_url(server) if server else server


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _load_obj(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None


def _check_state(state: str) -> None:
    if state not in STATES:
        raise ValueError(f"unknown message state {state!r}; use one of {', '.join(STATES)}")


_MESSAGE_COLUMNS = (
    "id, conversation_id, role, content, reasoning, attachments, model_requested, model_used, "
    "preset, params, finish_reason, usage, timings, server, created, state, error, seq, "
    + ", ".join(FACT_COLUMNS)
)
_SUMMARY_SELECT = (
    "SELECT c.id, c.title, c.created, c.updated, c.model, c.preset, c.server, "
    "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id), c.deleted "
    "FROM conversations c"
)


def _record(row: Sequence[Any]) -> MessageRecord:
    return MessageRecord(
        id=row[0],
        conversation_id=row[1],
        role=row[2],
        content=row[3],
        reasoning=row[4],
        attachments=tuple(json.loads(row[5]) if row[5] else ()),
        model_requested=row[6],
        model_used=row[7],
        preset=row[8],
        params=_load_obj(row[9]) or {},
        finish_reason=row[10],
        usage=_load_obj(row[11]),
        timings=_load_obj(row[12]),
        server=row[13],
        created=row[14],
        state=row[15],
        error=row[16],
        seq=row[17],
        response_id=row[18],
        response_server=row[19],
        route=row[20],
        load_seconds=row[21],
        prompt_seconds=row[22],
    )


def _summary(row: Sequence[Any]) -> ConversationSummary:
    return ConversationSummary(*row)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


class HistoryStore:
    """Conversations, messages and drafts in one SQLite database.

    Safe to share between threads (one lock) and between processes (WAL plus a
    busy timeout). Every public method raises :class:`HistoryUnavailable` when
    the database cannot be used.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        busy_timeout: float | None = None,
        recover: bool = True,
    ) -> None:
        self.path = path if path is not None else history_db()
        # None: 5 s, or LMTUI_HISTORY_BUSY_TIMEOUT (store/lock_wait.py).
        self.busy_timeout = history_busy_timeout() if busy_timeout is None else busy_timeout
        self._lock = threading.RLock()
        self._host = socket.gethostname()
        self._conn: sqlite3.Connection | None = None
        #: True when the file is read-only to this user: reads work, writes fail clearly.
        self.read_only = False
        #: The data directory when it is read-only to this user (``chmod 555``).
        self.read_only_dir: Path | None = None
        #: Finished replies a write could not save (full disk), by message id: each
        #: callable saves one again and is tried before the next write.
        self._unsaved: dict[int, Callable[[], None]] = {}
        self._retrying = False
        with self._guard("open"):
            self._conn = self._open()
        try:
            #: How many replies left streaming by a dead writer were marked interrupted
            #: (a write; ``recover=False`` leaves it to the TUI's history worker).
            self.recovered = self._recover_interrupted() if recover else 0
        except BaseException:
            self.close()
            raise

    @property
    def read_only_note(self) -> str | None:
        """One line saying history is read but not saved, and how to fix it; None if writable."""
        if not self.read_only:
            return None
        where = self.read_only_dir or self.path
        kind = "data directory" if self.read_only_dir is not None else "history file"
        return (
            f"history is not being saved: the {kind} {where} is read-only "
            f"(make it writable: chmod u+w {where})"
        )

    @staticmethod
    def auto_title(text: str) -> str:
        """A title from a first prompt: its first non-blank line, trimmed to ~60 characters."""
        return make_title(text)

    # ---- opening --------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        ensure_private_dir(self.path.parent)
        if self.path.is_file() and not os.access(self.path.parent, os.W_OK, effective_ids=True):
            # SQLite cannot make its -wal/-shm files here; nobody can write the file
            # through this directory either, so it is read as an immutable snapshot.
            self.read_only_dir = self.path.parent
            return self._open_read_only(immutable=True)
        # Create the file 0600 ourselves: sqlite would honour the umask instead.
        try:
            with open(self.path, "ab", opener=private_file_opener):
                pass
        except PermissionError:
            if not self.path.is_file():
                raise
            return self._open_read_only()  # a history the user made read-only: still readable
        close_down(self.path)
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        for suffix in ("-wal", "-shm"):
            close_down(f"{self.path}{suffix}")
        return conn

    def _open_read_only(self, *, immutable: bool = False) -> sqlite3.Connection:
        """Open a read-only history for reading: list, search, show and export still work.

        Writes then fail with a remedy that names the file (or its directory).
        ``immutable`` reads without the -shm file SQLite cannot create in a
        read-only directory.
        """
        self.read_only = True
        uri = f"file:{urllib.parse.quote(str(self.path))}?mode=ro"
        if immutable:
            uri += "&immutable=1"
        conn = sqlite3.connect(
            uri, uri=True, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            version = schema_version(conn)
            if version > CURRENT_VERSION:
                raise NewerSchema(version)
            if version < CURRENT_VERSION:
                raise sqlite3.OperationalError(
                    "attempt to write a readonly database (it needs an upgrade)"
                )
        except BaseException:
            conn.close()
            raise
        return conn

    def _recover_interrupted(self) -> int:
        """Mark replies whose writer is gone as interrupted; return how many."""
        if self.read_only:
            return 0
        rows = self._read(
            "SELECT id, writer_pid, writer_host, coalesce(updated, created) FROM messages "
            "WHERE state = 'streaming'"
        )
        now = time.time()
        dead = [
            (INTERRUPTED_NOTE, now, r[0])
            for r in rows
            if not self._writer_alive(r[1], r[2], r[3], now)
        ]
        if dead:
            with self._write("recover interrupted replies") as conn:
                conn.executemany(
                    "UPDATE messages SET state = 'interrupted', writer_pid = NULL, "
                    "writer_host = NULL, error = coalesce(error, ?), updated = ? "
                    "WHERE id = ? AND state = 'streaming'",
                    dead,
                )
        return len(dead)

    def _writer_alive(self, pid: int | None, host: str | None, updated: float, now: float) -> bool:
        if pid is None:
            return False
        if host != self._host:
            return now - updated < REMOTE_WRITER_STALE
        return _pid_alive(pid)

    def close(self) -> None:
        """Close the database (idempotent)."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None

    def interrupt(self) -> None:
        """Stop the statement this store runs now, from any thread (a stale search).

        The call running it raises :class:`HistoryUnavailable` ("interrupted"). Takes no
        lock, so it never waits on the statement it stops.
        """
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.interrupt()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- plumbing -------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self, what: str, *, write: bool = True) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError, NewerSchema) as exc:
            reason = str(exc) or type(exc).__name__
            lead = "history is not being saved" if write else "history is not available"
            if _disk_full(exc):  # its own line: "make it writable" would send the user astray
                raise HistoryUnavailable(
                    f"{lead}: the disk is full: free space at {self.path.parent}",
                    "Free some disk space; lmtui keeps what it could not save "
                    "and saves it at the next write.",
                ) from exc
            if self.read_only_dir is not None and write:
                where = self.read_only_dir
                raise HistoryUnavailable(
                    f"{lead}: {what}: the data directory {where} is read-only",
                    f"Make it writable (chmod u+w {where}) to save history again.",
                ) from exc
            raise HistoryUnavailable(
                f"{lead}: {what}: {reason}", _remedy(reason, self.path)
            ) from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HistoryUnavailable("history is not available: the store is closed", "")
        return self._conn

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock, self._guard("read", write=False):
            return self._connection().execute(sql, params).fetchall()

    @contextlib.contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        """A write transaction taken with the write lock up front (no upgrade deadlocks)."""
        with self._lock:
            self._retry_unsaved()
        with self._lock, self._guard(what):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _retry_unsaved(self) -> None:
        """Save again the finished replies a full disk kept out; stop at the first failure."""
        if self._retrying or not self._unsaved:
            return
        self._retrying = True
        try:
            for message_id, save in list(self._unsaved.items()):
                try:
                    save()
                except (LmtuiError, sqlite3.Error, OSError):
                    return  # still no room: kept for the next write
                self._unsaved.pop(message_id, None)
        finally:
            self._retrying = False

    def _touch(self, conn: sqlite3.Connection, conversation_id: int, now: float) -> None:
        conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))

    def _exists(self, conn: sqlite3.Connection, conversation_id: int) -> None:
        row = conn.execute(
            "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise ConversationNotFound(f"No conversation with id {conversation_id}.")

    # ---- conversations and messages ------------------------------------------

    def create_conversation(
        self,
        title: str | None = None,
        *,
        model: str | None = None,
        preset: str | None = None,
        server: str | None = None,
    ) -> int:
        """Start a conversation; return its id."""
        now = time.time()
        with self._write("create conversation") as conn:
            cur = conn.execute(
                "INSERT INTO conversations (title, created, updated, model, preset, server) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    " ".join((title or "").split()) or UNTITLED,
                    now,
                    now,
                    model,
                    preset,
                    _url(server),
                ),
            )
            return int(cur.lastrowid or 0)

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        *,
        reasoning: str = "",
        attachments: Sequence[str] = (),
        model_requested: str | None = None,
        model_used: str | None = None,
        preset: str | None = None,
        params: dict[str, Any] | None = None,
        finish_reason: str | None = None,
        usage: dict[str, Any] | None = None,
        timings: dict[str, Any] | None = None,
        server: str | None = None,
        state: str = "complete",
        error: str | None = None,
    ) -> int:
        """Append a message to a conversation; return its id."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        _check_state(state)
        now = time.time()
        pid, host = (os.getpid(), self._host) if state == "streaming" else (None, None)
        with self._write("save message") as conn:
            self._exists(conn, conversation_id)
            cur = conn.execute(
                "INSERT INTO messages (conversation_id, seq, role, content, reasoning, "
                "attachments, model_requested, model_used, preset, params, finish_reason, "
                "usage, timings, server, created, state, error, writer_pid, writer_host, "
                "updated) VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM messages "
                "WHERE conversation_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    conversation_id,
                    role,
                    content,
                    reasoning,
                    json.dumps(list(attachments), ensure_ascii=False),
                    model_requested,
                    model_used,
                    preset,
                    json.dumps(params or {}, ensure_ascii=False),
                    finish_reason,
                    _json(usage),
                    _json(timings),
                    _url(server),
                    now,
                    state,
                    error,
                    pid,
                    host,
                    now,
                ),
            )
            self._touch(conn, conversation_id, now)
            return int(cur.lastrowid or 0)

    def update_message(
        self,
        message_id: int,
        *,
        content: str | _Unset = UNSET,
        reasoning: str | _Unset = UNSET,
        attachments: Sequence[str] | _Unset = UNSET,
        model_used: str | _Unset | None = UNSET,
        finish_reason: str | _Unset | None = UNSET,
        usage: dict[str, Any] | _Unset | None = UNSET,
        timings: dict[str, Any] | _Unset | None = UNSET,
        state: str | _Unset = UNSET,
        error: str | _Unset | None = UNSET,
    ) -> None:
        """Change some fields of a stored message; fields not given keep their value.

        Setting ``state="streaming"`` claims the message for this process (a dead
        claimant's message is shown as interrupted later); any other state releases it.
        """
        sets: dict[str, Any] = {}
        if not isinstance(content, _Unset):
            sets["content"] = content
        if not isinstance(reasoning, _Unset):
            sets["reasoning"] = reasoning
        if not isinstance(attachments, _Unset):
            sets["attachments"] = json.dumps(list(attachments), ensure_ascii=False)
        if not isinstance(model_used, _Unset):
            sets["model_used"] = model_used
        if not isinstance(finish_reason, _Unset):
            sets["finish_reason"] = finish_reason
        if not isinstance(usage, _Unset):
            sets["usage"] = _json(usage)
        if not isinstance(timings, _Unset):
            sets["timings"] = _json(timings)
        if not isinstance(error, _Unset):
            sets["error"] = error
        if not isinstance(state, _Unset):
            _check_state(state)
            sets["state"] = state
            streaming = state == "streaming"
            sets["writer_pid"] = os.getpid() if streaming else None
            sets["writer_host"] = self._host if streaming else None
        self._update(message_id, sets, "save message")

    def _update(
        self, message_id: int, sets: dict[str, Any], what: str, *, busy_ms: int | None = None
    ) -> None:
        now = time.time()
        sets = sets | {"updated": now}
        assignments = ", ".join(f"{name} = ?" for name in sets)
        with self._write(what) if busy_ms is None else self._write_quick(what, busy_ms) as conn:
            row = conn.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                raise ConversationNotFound(f"No message with id {message_id}.")
            conn.execute(
                f"UPDATE messages SET {assignments} WHERE id = ?", (*sets.values(), message_id)
            )
            self._touch(conn, row[0], now)

    @contextlib.contextmanager
    def _write_quick(self, what: str, busy_ms: int) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
            try:
                with self._write(what) as c:
                    yield c
            finally:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")

    def delete_message(self, message_id: int) -> None:
        """Remove one message for good."""
        now = time.time()
        with self._write("delete message") as conn:
            row = conn.execute(
                "DELETE FROM messages WHERE id = ? RETURNING conversation_id", (message_id,)
            ).fetchone()
            if row is not None:
                self._touch(conn, row[0], now)

    def begin_reply(
        self,
        conversation_id: int,
        *,
        model_requested: str | None = None,
        preset: str | None = None,
        params: dict[str, Any] | None = None,
        server: str | None = None,
        flush_interval: float = 1.0,
        worker: WriteQueue | None = None,
    ) -> ReplyWriter:
        """Insert an assistant message in state ``streaming`` and return its writer.

        With ``worker`` the writer's saves run on that worker's thread (see
        :class:`ReplyWriter`); the insert itself runs here, as its id is needed now.
        """
        message_id = self.add_message(
            conversation_id,
            "assistant",
            "",
            model_requested=model_requested,
            preset=preset,
            params=params,
            server=server,
            state="streaming",
        )
        return ReplyWriter(self, message_id, flush_interval, worker=worker)

    def _write_reply(
        self,
        message_id: int,
        content: str,
        reasoning: str,
        model_used: str | None,
        *,
        final: dict[str, Any] | None = None,
    ) -> None:
        sets: dict[str, Any] = {"content": content, "reasoning": reasoning}
        if model_used is not None:
            sets["model_used"] = model_used
        if final is None:
            self._update(message_id, sets, "save reply", busy_ms=FLUSH_BUSY_TIMEOUT_MS)
            return
        sets |= final | {"writer_pid": None, "writer_host": None}
        self._update(message_id, sets, "save reply")

    # ---- reading --------------------------------------------------------------

    def get_conversation(
        self, conversation_id: int
    ) -> tuple[ConversationSummary, list[MessageRecord]]:
        """A conversation and all its messages, oldest first."""
        rows = self._read(f"{_SUMMARY_SELECT} WHERE c.id = ?", (conversation_id,))
        if not rows:
            raise ConversationNotFound(f"No conversation with id {conversation_id}.")
        return _summary(rows[0]), self.messages(conversation_id)

    def messages(
        self, conversation_id: int, *, limit: int | None = None, before_seq: int | None = None
    ) -> list[MessageRecord]:
        """Messages of a conversation, oldest first.

        With ``limit``, the last ``limit`` messages (before ``before_seq`` when given),
        for paging backwards through a long conversation.
        """
        where = "conversation_id = ?"
        params: list[Any] = [conversation_id]
        if before_seq is not None:
            where += " AND seq < ?"
            params.append(before_seq)
        if limit is None:
            sql = f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE {where} ORDER BY seq"
            records = [_record(r) for r in self._read(sql, params)]
        else:
            sql = f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE {where} ORDER BY seq DESC LIMIT ?"
            records = [_record(r) for r in reversed(self._read(sql, [*params, limit]))]
        with self._lock, self._guard("read", write=False):
            calls = tool_calls_of(self._connection(), conversation_id)
        if not calls:
            return records
        return [replace(r, tool_calls=calls[r.id]) if r.id in calls else r for r in records]

    def save_reply_facts(self, message_id: int, facts: ReplyFacts) -> None:
        """Store a reply's tool calls and transport facts (replacing earlier ones)."""
        assignments = ", ".join(f"{name} = ?" for name in FACT_COLUMNS)
        with self._write("save reply details") as conn:
            cur = conn.execute(
                f"UPDATE messages SET {assignments} WHERE id = ?",
                (*facts.column_values(), message_id),
            )
            if cur.rowcount == 0:
                raise ConversationNotFound(f"No message with id {message_id}.")
            replace_tool_calls(conn, message_id, facts.tool_calls)

    def list_conversations(
        self, *, limit: int | None = 50, offset: int = 0, trash: bool = False
    ) -> list[ConversationSummary]:
        """Conversations, most recently updated first (the trash's when ``trash``)."""
        where = "c.deleted IS NOT NULL" if trash else "c.deleted IS NULL"
        sql = f"{_SUMMARY_SELECT} WHERE {where} ORDER BY c.updated DESC, c.id DESC LIMIT ? OFFSET ?"
        rows = self._read(sql, (-1 if limit is None else limit, offset))
        return [_summary(r) for r in rows]

    def count_conversations(self, *, trash: bool = False) -> int:
        """How many conversations there are (in the trash when ``trash``)."""
        where = "deleted IS NOT NULL" if trash else "deleted IS NULL"
        return int(self._read(f"SELECT count(*) FROM conversations WHERE {where}")[0][0])

    def search(
        self,
        query: str,
        *,
        limit: int | None = 50,
        prefix: bool = False,
        marks: tuple[str, str] = DEFAULT_MARKS,
        candidates: int = CANDIDATES,
    ) -> SearchHits:
        """Conversations containing every word of ``query``, best match first.

        One hit per conversation, ranked by bm25 over its best message plus its
        title; the snippet shows the best match with the words between ``marks``.
        ``prefix`` also matches words starting with the last word (search as you type).
        Only the newest ``candidates`` matching messages are ranked (see
        :mod:`.search_candidates`); the hits' ``ranked_newest`` says when more matched.
        """
        match = fts_query(query, prefix=prefix)
        if match is None:
            return SearchHits()
        with self._lock, self._guard("search", write=False):
            conn = self._connection()
            found = rank_candidates(conn, match, candidates)
            scores, tool_rows = found.scores, found.tool_rows
            for cid, rank in conn.execute(
                "SELECT rowid, rank FROM titles_fts WHERE titles_fts MATCH ?", (match,)
            ):
                msg_rank, mid = scores.get(cid, (0.0, None))
                scores[cid] = (msg_rank + TITLE_WEIGHT * rank, mid)
            # bm25: lower is better. Ties go to the newer conversation.
            ranked = sorted(scores.items(), key=lambda item: (item[1][0], -item[0]))
            hits = SearchHits(ranked_newest=candidates if found.bounded else None)
            chosen: list[Chosen] = []
            chunk = max(limit or 0, 100)
            for i in range(0, len(ranked), chunk):
                if limit is not None and len(chosen) >= limit:
                    break
                part = ranked[i : i + chunk]
                marks_sql = ",".join("?" * len(part))
                live = {
                    row[0]: (row[1], row[2])
                    for row in conn.execute(
                        "SELECT id, title, updated FROM conversations "
                        f"WHERE deleted IS NULL AND id IN ({marks_sql})",
                        [cid for cid, _ in part],
                    )
                }
                for cid, (score, mid) in part:
                    if cid not in live or (limit is not None and len(chosen) >= limit):
                        continue
                    chosen.append((cid, *live[cid], float(score), mid))
            # One snippet query for all: each query sets up its match anew (a prefix, ~0.4 s).
            texts = snippets(conn, match, chosen, tool_rows, marks)
            for cid, title, updated, score, _ in chosen:
                hits.append(SearchHit(cid, title, texts.get(cid, ""), score, updated))
        return hits

    # ---- organising -----------------------------------------------------------

    def rename(self, conversation_id: int, title: str) -> None:
        """Give a conversation a new title."""
        title = " ".join(title.split())
        if not title:
            raise HistoryInputError("A title cannot be empty.", "Give a title with some text.")
        with self._write("rename") as conn:
            self._exists(conn, conversation_id)
            conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id)
            )

    def delete_conversation(self, conversation_id: int) -> None:
        """Move a conversation to the trash (undo with :meth:`restore_conversation`)."""
        with self._write("delete conversation") as conn:
            self._exists(conn, conversation_id)
            conn.execute(
                "UPDATE conversations SET deleted = ? WHERE id = ? AND deleted IS NULL",
                (time.time(), conversation_id),
            )

    def restore_conversation(self, conversation_id: int) -> None:
        """Bring a conversation back from the trash."""
        with self._write("restore conversation") as conn:
            self._exists(conn, conversation_id)
            conn.execute("UPDATE conversations SET deleted = NULL WHERE id = ?", (conversation_id,))

    def purge_deleted(self) -> int:
        """Delete the trash for good; return how many conversations went."""
        with self._write("empty the trash") as conn:
            cur = conn.execute("DELETE FROM conversations WHERE deleted IS NOT NULL")
            return cur.rowcount

    # ---- drafts ---------------------------------------------------------------

    def save_draft(self, key: str, text: str) -> None:
        """Keep the unsent text of a composer (``key`` names the conversation or "new")."""
        if not text:
            self.clear_draft(key)
            return
        with self._write("save draft") as conn:
            conn.execute(
                "INSERT INTO drafts (key, text, updated) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET text = excluded.text, updated = excluded.updated",
                (key, text, time.time()),
            )

    def load_draft(self, key: str) -> str:
        """The draft saved under ``key``, or an empty string."""
        rows = self._read("SELECT text FROM drafts WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else ""

    def clear_draft(self, key: str) -> None:
        """Forget the draft under ``key`` (after it was sent)."""
        with self._write("clear draft") as conn:
            conn.execute("DELETE FROM drafts WHERE key = ?", (key,))

    # ---- export and import ----------------------------------------------------

    def export(self, conversation_ids: list[int] | None, fmt: Literal["md", "json"]) -> str:
        """Markdown or lmtui JSON for the given conversations (all when None)."""
        if conversation_ids is None:
            rows = self._read("SELECT id FROM conversations WHERE deleted IS NULL ORDER BY id")
            conversation_ids = [r[0] for r in rows]
        conversations = [self.get_conversation(cid) for cid in conversation_ids]
        # Imported here: the export and import formats are not needed to chat (`lmtui ask`).
        from lmtui.store.history_export import to_json, to_markdown

        if fmt == "md":
            return to_markdown(conversations)
        if fmt == "json":
            return to_json(conversations)
        raise ValueError(f"unknown export format {fmt!r}; use md or json")

    def import_file(self, path: Path) -> int:
        """Import JSON Lines or an lmtui JSON export; return conversations imported.

        All or nothing: a bad line raises :class:`HistoryInputError` and nothing is kept.
        """
        from lmtui.store.history_export import ImportFormatError, parse_import

        try:
            text = read_bounded(path, MAX_IMPORT_BYTES).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise HistoryInputError(
                f"Cannot read {path}: {exc}", "Give a readable UTF-8 file."
            ) from None
        try:
            conversations = parse_import(text)
        except ImportFormatError as exc:
            raise HistoryInputError(
                f"{path}: {exc}",
                'Fix that line (JSON Lines: one {"title", "messages": [{"role", '
                '"content"}]} per line); nothing was imported.',
            ) from None
        self.import_conversations(conversations)
        return len(conversations)

    def import_conversations(self, conversations: Sequence[ConversationData]) -> None:
        """Store already-validated conversations in one transaction.

        Rows get their ids here: under the write lock an ``INTEGER PRIMARY KEY`` would
        take max + 1 anyway, and knowing them lets every conversation and message go in
        with one ``executemany`` each and tool calls find their message without a query.
        """
        now = time.time()
        # The usual JSON Lines file holds only roles and contents: then every other
        # column takes its default, and binding 7 values a row, not 24, halves the insert.
        plain = all(_plain(m) for conv in conversations for m in conv.messages)
        conversation_rows: list[tuple[Any, ...]] = []
        rows: list[tuple[Any, ...]] = []
        calls: list[tuple[int, Sequence[ToolCall]]] = []
        with self._write("import") as conn:
            after = drop_insert_triggers(conn)
            mid = after[1]
            for cid, conv in enumerate(conversations, after[0] + 1):
                created = conv.created if conv.created is not None else now
                title = conv.title
                if not title or not title.strip():
                    first = next((m.content for m in conv.messages if m.role == "user"), "")
                    title = make_title(first)
                conversation_rows.append(
                    (
                        cid,
                        " ".join(title.split()),
                        created,
                        conv.updated if conv.updated is not None else created,
                        conv.model,
                        conv.preset,
                        _url(conv.server),
                    )
                )
                for seq, m in enumerate(conv.messages, 1):
                    mid += 1
                    at = m.created if m.created is not None else created
                    if plain:
                        rows.append((mid, cid, seq, m.role, m.content, at, at))
                        continue
                    rows.append(
                        (
                            mid,
                            cid,
                            seq,
                            m.role,
                            m.content,
                            m.reasoning,
                            # Most messages have neither: skip json.dumps.
                            _json_list(m.attachments),
                            m.model_requested,
                            m.model_used,
                            m.preset,
                            _json_object(m.params),
                            m.finish_reason,
                            _json(m.usage),
                            _json(m.timings),
                            _url(m.server),
                            at,
                            m.state,
                            m.error,
                            at,
                            *m.facts.column_values(),
                        )
                    )
                    if m.facts.tool_calls:
                        calls.append((mid, m.facts.tool_calls))
            conn.executemany(
                "INSERT INTO conversations (id, title, created, updated, model, preset, server) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                conversation_rows,
            )
            if plain:
                conn.executemany(
                    "INSERT INTO messages (id, conversation_id, seq, role, content, created, "
                    "updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            else:
                conn.executemany(
                    "INSERT INTO messages (id, conversation_id, seq, role, content, reasoning, "
                    "attachments, model_requested, model_used, preset, params, finish_reason, "
                    "usage, timings, server, created, state, error, updated, "
                    f"{', '.join(FACT_COLUMNS)}) VALUES ({', '.join(['?'] * 24)})",
                    rows,
                )
            if calls:
                insert_tool_calls(conn, calls)
            bulk_index(conn, after)


_NO_FACT_VALUES = ReplyFacts().column_values()


def _plain(m: MessageData) -> bool:
    """True for a message whose columns but role, content and times hold their defaults."""
    return not (
        m.reasoning
        or m.attachments
        or m.params
        or m.state != "complete"
        or m.model_requested is not None
        or m.model_used is not None
        or m.preset is not None
        or m.finish_reason is not None
        or m.usage is not None
        or m.timings is not None
        or m.server is not None
        or m.error is not None
        or m.facts.tool_calls
        or m.facts.column_values() != _NO_FACT_VALUES
    )


def _json_list(items: Sequence[str]) -> str:
    return json.dumps(list(items), ensure_ascii=False) if items else "[]"


def _json_object(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False) if obj else "{}"


class ReplyWriter:
    """A streaming assistant reply, persisted as it grows.

    Text is buffered and written at most once per ``flush_interval`` seconds and
    at :meth:`finish`. A write that fails never raises: the first failure is kept
    in :attr:`error`, the text stays in memory and later writes try again.
    With a ``worker`` each save is a snapshot handed to it (the caller never waits
    on the database); the worker reports and retries what fails, and a newer
    snapshot replaces one still waiting.
    """

    def __init__(
        self,
        store: HistoryStore,
        message_id: int,
        flush_interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        worker: WriteQueue | None = None,
    ) -> None:
        self.store = store
        self.worker = worker
        self.message_id = message_id
        self.flush_interval = flush_interval
        #: Replaceable for tests and replays; seconds, monotonic.
        self.clock = clock
        self.error: str | None = None
        #: Successful writes so far (not counting the insert at begin_reply).
        self.writes = 0
        self.finished = False
        #: True while the finished reply is only in memory (its last write failed);
        #: the store saves it again before its next write.
        self.unsaved = False
        self._final: dict[str, Any] | None = None
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._model_used: str | None = None
        self._dirty = False
        self._last_write = clock()
        self._timer: TimerHandle | None = None

    @property
    def content(self) -> str:
        """The reply's text so far."""
        return "".join(self._content)

    @property
    def reasoning(self) -> str:
        """The reply's reasoning so far."""
        return "".join(self._reasoning)

    def append(self, content: str = "", reasoning: str = "") -> None:
        """Add text; written to the database when ``flush_interval`` has passed."""
        if self.finished:
            raise RuntimeError("the reply is finished; start a new one with begin_reply")
        if content:
            self._content.append(content)
            self._dirty = True
        if reasoning:
            self._reasoning.append(reasoning)
            self._dirty = True
        if self._dirty and self.clock() - self._last_write >= self.flush_interval:
            self.flush()
        elif self._dirty and self._timer is None and "asyncio" in sys.modules:
            self._flush_later()  # (a timer needs a loop: never on the sync path)

    def _flush_later(self) -> None:
        """Write what is buffered ``flush_interval`` after the last write, deltas or not.

        A stream that stalls (only keep-alives, or nothing) sends no further append: the
        text it already sent is saved by this timer, at most ``flush_interval`` behind,
        so a process killed during the stall loses none of it. Without a running event
        loop (a synchronous caller) the next append or finish writes it.
        """
        if self._timer is not None or self.finished:
            return
        # Only an asyncio caller can have a loop running; the sync path never imports it.
        asyncio = sys.modules.get("asyncio")
        if asyncio is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        delay = max(0.0, self.flush_interval - (self.clock() - self._last_write))
        self._timer = loop.call_later(delay, self._on_timer)

    def flush_if_due(self) -> None:
        """Write the buffered text if ``flush_interval`` has passed since the last write.

        For a caller without an event loop (the sync chat turn), which calls it while
        the stream waits: what :meth:`_flush_later`'s timer does on the async path.
        """
        due = self.clock() - self._last_write >= self.flush_interval
        if due and self._dirty and not self.finished:
            self.flush()

    def _on_timer(self) -> None:
        self._timer = None
        if self._dirty and not self.finished:
            self.flush()

    def content_was_reasoning(self) -> None:
        """The text so far was reasoning (a close-only ``</think>``): move it there."""
        self._reasoning.extend(self._content)
        self._content.clear()
        self._dirty = True

    def set_model_used(self, model: str) -> None:
        """Record the model the server says answered."""
        if model != self._model_used:
            self._model_used = model
            self._dirty = True

    def flush(self) -> None:
        """Write the buffered text now (with a worker: hand it a snapshot to write)."""
        self._last_write = self.clock()
        if self.worker is not None:
            self._submit(None)
            return
        try:
            self.store._write_reply(self.message_id, self.content, self.reasoning, self._model_used)
        except LmtuiError as exc:
            cause = exc.__cause__
            busy = isinstance(cause, sqlite3.OperationalError) and "locked" in str(cause)
            if not busy and self.error is None:
                self.error = exc.message  # a busy database is retried at the next flush
            return
        self._dirty = False
        self.writes += 1

    def finish(
        self,
        state: str,
        *,
        finish_reason: str | None = None,
        usage: dict[str, Any] | None = None,
        timings: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Write the whole reply with its final state; later calls do nothing."""
        if self.finished:
            return
        _check_state(state)
        if state == "streaming":
            raise ValueError("finish() needs a final state, not 'streaming'")
        self.finished = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        final = {
            "state": state,
            "finish_reason": finish_reason,
            "usage": _json(usage),
            "timings": _json(timings),
            "error": error,
        }
        self._final = final
        if self.worker is not None:
            self._submit(final)  # the worker retries a failed write itself
            return
        try:
            self._save_final()
        except LmtuiError as exc:
            # Said plainly, so the reply is not later taken for one lmtui stopped.
            self.error = f"reply not saved: {exc.message}"
            if isinstance(exc, HistoryUnavailable):  # a deleted message is not retried
                self.unsaved = True
                self.store._unsaved[self.message_id] = self._save_final

    def _save_final(self) -> None:
        """Write the whole reply with the state :meth:`finish` was given."""
        self.store._write_reply(
            self.message_id, self.content, self.reasoning, self._model_used, final=self._final
        )
        self._dirty = False
        self.unsaved = False
        self.writes += 1

    def _submit(self, final: dict[str, Any] | None) -> None:
        """Queue a snapshot of the reply on the worker (same key: a newer one replaces it)."""
        assert self.worker is not None
        mid, content, reasoning, model = (
            self.message_id,
            self.content,
            self.reasoning,
            self._model_used,
        )

        def job(store: HistoryStore) -> None:
            store._write_reply(mid, content, reasoning, model, final=final)
            self.writes += 1

        self.worker.submit("save reply", job, key=("message", mid))
        self._dirty = False

"""The history database's schema and its forward migrations.

The schema version lives in ``PRAGMA user_version``. ``MIGRATIONS[i]`` takes a
database from version ``i`` to ``i + 1``; migrations only ever move forward and
each runs inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

Migration = Callable[[sqlite3.Connection], None]

STATES = ("complete", "streaming", "stopped", "interrupted", "error")
ROLES = ("system", "user", "assistant", "tool")

_TOKENIZER = "unicode61 remove_diacritics 2"


def _run(conn: sqlite3.Connection, statements: Sequence[str]) -> None:
    # Not executescript(): it would commit the caller's transaction first.
    for statement in statements:
        conn.execute(statement)


def _v1_tables(conn: sqlite3.Connection) -> None:
    """Conversations, messages and drafts."""
    states = ", ".join(f"'{s}'" for s in STATES)
    _run(
        conn,
        (
            """
            CREATE TABLE conversations (
                id INTEGER PRIMARY KEY,
                title TEXT NOT NULL DEFAULT '',
                created REAL NOT NULL,
                updated REAL NOT NULL,
                model TEXT,
                preset TEXT,
                server TEXT,
                deleted REAL
            )
            """,
            """
            CREATE INDEX conversations_recent
                ON conversations (updated DESC, id DESC) WHERE deleted IS NULL
            """,
            f"""
            CREATE TABLE messages (
                id INTEGER PRIMARY KEY,
                conversation_id INTEGER NOT NULL
                    REFERENCES conversations (id) ON DELETE CASCADE,
                seq INTEGER NOT NULL,
                role TEXT NOT NULL,
                content TEXT NOT NULL DEFAULT '',
                reasoning TEXT NOT NULL DEFAULT '',
                attachments TEXT NOT NULL DEFAULT '[]',
                model_requested TEXT,
                model_used TEXT,
                preset TEXT,
                params TEXT NOT NULL DEFAULT '{{}}',
                finish_reason TEXT,
                usage TEXT,
                timings TEXT,
                server TEXT,
                created REAL NOT NULL,
                state TEXT NOT NULL DEFAULT 'complete' CHECK (state IN ({states})),
                error TEXT
            )
            """,
            "CREATE UNIQUE INDEX messages_order ON messages (conversation_id, seq)",
            """
            CREATE TABLE drafts (
                key TEXT PRIMARY KEY,
                text TEXT NOT NULL,
                updated REAL NOT NULL
            )
            """,
        ),
    )


# The insert triggers, by name. A bulk import drops them, indexes its rows in one
# statement and re-creates them (see ``bulk_index``).
MESSAGES_FTS_INSERT = """
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, content, conversation_id)
        VALUES (new.id, new.content, new.conversation_id);
    END
"""
TITLES_FTS_INSERT = """
    CREATE TRIGGER titles_fts_insert AFTER INSERT ON conversations BEGIN
        INSERT INTO titles_fts (rowid, title) VALUES (new.id, new.title);
    END
"""


def _v2_search(conn: sqlite3.Connection) -> None:
    """Full-text search over titles and message text (external-content FTS5)."""
    _run(
        conn,
        (
            f"""
            CREATE VIRTUAL TABLE messages_fts USING fts5 (
                content, conversation_id UNINDEXED,
                content='messages', content_rowid='id', tokenize='{_TOKENIZER}'
            )
            """,
            f"""
            CREATE VIRTUAL TABLE titles_fts USING fts5 (
                title, content='conversations', content_rowid='id', tokenize='{_TOKENIZER}'
            )
            """,
            MESSAGES_FTS_INSERT,
            """
            CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
                INSERT INTO messages_fts (messages_fts, rowid, content, conversation_id)
                VALUES ('delete', old.id, old.content, old.conversation_id);
            END
            """,
            """
            CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
                INSERT INTO messages_fts (messages_fts, rowid, content, conversation_id)
                VALUES ('delete', old.id, old.content, old.conversation_id);
                INSERT INTO messages_fts (rowid, content, conversation_id)
                VALUES (new.id, new.content, new.conversation_id);
            END
            """,
            TITLES_FTS_INSERT,
            """
            CREATE TRIGGER titles_fts_delete AFTER DELETE ON conversations BEGIN
                INSERT INTO titles_fts (titles_fts, rowid, title)
                VALUES ('delete', old.id, old.title);
            END
            """,
            """
            CREATE TRIGGER titles_fts_update AFTER UPDATE OF title ON conversations BEGIN
                INSERT INTO titles_fts (titles_fts, rowid, title)
                VALUES ('delete', old.id, old.title);
                INSERT INTO titles_fts (rowid, title) VALUES (new.id, new.title);
            END
            """,
            # Index what earlier versions already stored.
            "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
            "INSERT INTO titles_fts (titles_fts) VALUES ('rebuild')",
        ),
    )


def _v3_writers(conn: sqlite3.Connection) -> None:
    """Who is writing a streaming reply, so a dead writer's reply shows as interrupted."""
    _run(
        conn,
        (
            "ALTER TABLE messages ADD COLUMN writer_pid INTEGER",
            "ALTER TABLE messages ADD COLUMN writer_host TEXT",
            "ALTER TABLE messages ADD COLUMN updated REAL",
            "UPDATE messages SET updated = created",
            "CREATE INDEX messages_streaming ON messages (state) WHERE state = 'streaming'",
        ),
    )


TOOL_CALLS_FTS_INSERT = """
    CREATE TRIGGER tool_calls_fts_insert AFTER INSERT ON tool_calls BEGIN
        INSERT INTO tool_calls_fts (rowid, name, arguments, output, failure)
        VALUES (new.id, new.name, new.arguments, new.output, new.failure);
    END
"""


def _v4_native(conn: sqlite3.Connection) -> None:
    """Tool calls (searchable), and what LM Studio's /api/v1/chat tells about a reply.

    ``response_id`` and ``response_server`` chain the next turn; ``route`` says which
    transport carried the reply and why; load and prompt-processing durations in seconds.
    """
    _run(
        conn,
        (
            "ALTER TABLE messages ADD COLUMN response_id TEXT",
            "ALTER TABLE messages ADD COLUMN response_server TEXT",
            "ALTER TABLE messages ADD COLUMN route TEXT",
            "ALTER TABLE messages ADD COLUMN load_seconds REAL",
            "ALTER TABLE messages ADD COLUMN prompt_seconds REAL",
            """
            CREATE TABLE tool_calls (
                id INTEGER PRIMARY KEY,
                message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                seq INTEGER NOT NULL,
                call_id TEXT NOT NULL DEFAULT '',
                name TEXT NOT NULL,
                arguments TEXT NOT NULL DEFAULT '',
                provider TEXT NOT NULL DEFAULT '',
                output TEXT,
                failure TEXT
            )
            """,
            "CREATE UNIQUE INDEX tool_calls_order ON tool_calls (message_id, seq)",
            f"""
            CREATE VIRTUAL TABLE tool_calls_fts USING fts5 (
                name, arguments, output, failure,
                content='tool_calls', content_rowid='id', tokenize='{_TOKENIZER}'
            )
            """,
            TOOL_CALLS_FTS_INSERT,
            """
            CREATE TRIGGER tool_calls_fts_delete AFTER DELETE ON tool_calls BEGIN
                INSERT INTO tool_calls_fts (tool_calls_fts, rowid, name, arguments, output,
                    failure)
                VALUES ('delete', old.id, old.name, old.arguments, old.output, old.failure);
            END
            """,
        ),
    )


MIGRATIONS: tuple[Migration, ...] = (_v1_tables, _v2_search, _v3_writers, _v4_native)
CURRENT_VERSION = len(MIGRATIONS)


def drop_insert_triggers(conn: sqlite3.Connection) -> tuple[int, int]:
    """Start a bulk insert (inside a transaction): return the highest ids so far."""
    conn.execute("DROP TRIGGER messages_fts_insert")
    conn.execute("DROP TRIGGER titles_fts_insert")
    row = conn.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM conversations), "
        "(SELECT coalesce(max(id), 0) FROM messages)"
    ).fetchone()
    return int(row[0]), int(row[1])


def bulk_index(conn: sqlite3.Connection, after: tuple[int, int]) -> None:
    """Index rows inserted since :func:`drop_insert_triggers` and restore the triggers.

    Row ids only grow (``INTEGER PRIMARY KEY`` takes max + 1), so the new rows are
    exactly those above the ids it returned. Many times faster than a trigger per row.
    """
    conn.execute(
        "INSERT INTO titles_fts (rowid, title) SELECT id, title FROM conversations WHERE id > ?",
        (after[0],),
    )
    conn.execute(
        "INSERT INTO messages_fts (rowid, content, conversation_id) "
        "SELECT id, content, conversation_id FROM messages WHERE id > ?",
        (after[1],),
    )
    conn.execute(MESSAGES_FTS_INSERT)
    conn.execute(TITLES_FTS_INSERT)


class NewerSchema(Exception):
    """The database was written by a newer lmtui than this one."""

    def __init__(self, version: int) -> None:
        super().__init__(f"schema version {version} is newer than this lmtui's {CURRENT_VERSION}")
        self.version = version


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's schema version (0 for a new, empty file)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, target: int = CURRENT_VERSION) -> int:
    """Bring the database up to ``target``; return the version it was at.

    ``conn`` must be in autocommit mode (``isolation_level=None``). The version is
    re-read under the write lock, so two processes opening a new file at once
    migrate it exactly once.
    """
    before = schema_version(conn)
    if before > CURRENT_VERSION:
        raise NewerSchema(before)
    if before >= target:
        return before
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = schema_version(conn)
        for migration in MIGRATIONS[before:target]:
            migration(conn)
        if before < target:
            conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return before

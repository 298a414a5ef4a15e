"""``lmtui history``: list, search, show, export, import and tidy saved conversations.

Kept light: only the store (stdlib sqlite3) is imported, and only when a
command runs, so ``lmtui history search`` starts about as fast as ``lmtui --version``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmtui.cli.common import add_connection_args, add_subcommand, record_id
from lmtui.cli.output import print_json, say, warn, write
from lmtui.services.terminal_text import for_stream

if TYPE_CHECKING:
    from lmtui.store.history import ConversationSummary, HistoryStore


def register(sub: Any) -> None:
    """Add ``history`` and its actions to the subcommands."""
    p = add_subcommand(
        sub,
        "history",
        "list, search, show, export and import saved conversations",
        description="Saved conversations. They live in history.sqlite3 in lmtui's data "
        "directory ($XDG_DATA_HOME/lmtui on Linux); see docs/history.md.",
    )
    actions = p.add_subparsers(dest="history_command", metavar="ACTION", required=True)

    a = actions.add_parser("list", help="conversations, most recent first")
    a.add_argument("--limit", type=int, default=50, help="how many (0: all; default 50)")
    a.add_argument("--trash", action="store_true", help="list deleted conversations instead")
    a.add_argument("--json", action="store_true", help="machine-readable output")

    a = actions.add_parser("search", help="full-text search of titles and messages")
    a.add_argument("query", nargs="+", help="words that must all appear")
    a.add_argument("--limit", type=int, default=50, help="how many (0: all; default 50)")
    a.add_argument("--json", action="store_true", help="machine-readable output")
    a.add_argument(
        "--semantic",
        action="store_true",
        help="search by meaning with an embedding model (--model, config embedding_model, "
        "or the server's); needs `lmtui history index` first",
    )
    add_connection_args(a, sub=True)

    a = actions.add_parser("index", help="embed new messages for `search --semantic`")
    a.add_argument("--rebuild", action="store_true", help="forget this model's vectors first")
    add_connection_args(a, sub=True)

    a = actions.add_parser("show", help="print one conversation")
    a.add_argument("id", type=record_id, help="conversation id (see `lmtui history list`)")
    a.add_argument("--json", action="store_true", help="machine-readable output")

    a = actions.add_parser("export", help="export one or all conversations")
    a.add_argument("id", type=record_id, nargs="?", help="conversation id (default: all)")
    a.add_argument("--format", choices=("md", "json"), default="md", help="default: md")
    a.add_argument("--out", help="file to write (created 0600; - or none: standard output)")
    a.add_argument("--force", action="store_true", help="replace the --out file if it exists")

    a = actions.add_parser("import", help="import JSON Lines or an lmtui JSON export")
    a.add_argument("file", help='one {"title", "messages": [{"role", "content"}]} per line')

    a = actions.add_parser("rm", help="move a conversation to the trash")
    a.add_argument("id", type=record_id)

    a = actions.add_parser("restore", help="bring a conversation back from the trash")
    a.add_argument("id", type=record_id)

    actions.add_parser("purge", help="delete the trash for good")

    a = actions.add_parser("rename", help="give a conversation a new title")
    a.add_argument("id", type=record_id)
    a.add_argument("title", nargs="+", help="the new title")

    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``lmtui history ACTION``."""
    if args.history_command == "index" or getattr(args, "semantic", False):
        from lmtui.cli import history_semantic

        return history_semantic.run(args)
    from lmtui.store.history import HistoryStore

    with HistoryStore() as store:
        action = _ACTIONS[args.history_command]
        if store.read_only_note and args.history_command in _READS:
            warn(f"lmtui: {store.read_only_note}")  # a write says it in its own error
        return action(store, args)


_READS = frozenset({"list", "search", "show", "export"})


_BOLD_ON, _BOLD_OFF = "\ue000", "\ue001"


def _limit(value: int) -> int | None:
    return None if value <= 0 else value


def _when(ts: float) -> str:
    from lmtui.store.history_export import when

    return when(ts)


def _summary_json(s: ConversationSummary) -> dict[str, Any]:
    return {
        "id": s.id,
        "title": s.title,
        "created": s.created,
        "updated": s.updated,
        "model": s.model,
        "preset": s.preset,
        "server": s.server,
        "message_count": s.message_count,
        "deleted": s.deleted,
    }


def _list(store: HistoryStore, args: argparse.Namespace) -> int:
    convs = store.list_conversations(limit=_limit(args.limit), trash=args.trash)
    if args.json:
        print_json({"conversations": [_summary_json(s) for s in convs]})
        return 0
    if not convs:
        say("The trash is empty." if args.trash else "No saved conversations yet.")
        return 0
    rows = [("ID", "UPDATED", "MSGS", "MODEL", "TITLE")]
    rows += [
        (str(s.id), _when(s.updated), str(s.message_count), s.model or "", s.title) for s in convs
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        say("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    return 0


def _search(store: HistoryStore, args: argparse.Namespace) -> int:
    query = " ".join(args.query)
    # On a terminal the match is bold: private-use marks survive the output layer and
    # become the escapes after it, so only lmtui's own escapes reach the terminal.
    tty = sys.stdout.isatty() and not args.json
    marks = (_BOLD_ON, _BOLD_OFF) if tty else ("«", "»")
    hits = store.search(query, limit=_limit(args.limit), marks=marks)
    if args.json:
        print_json(
            {
                "query": query,
                "ranked_newest": hits.ranked_newest,
                "hits": [
                    {
                        "id": h.conversation_id,
                        "title": h.title,
                        "snippet": h.snippet,
                        "rank": h.rank,
                        "updated": h.updated,
                    }
                    for h in hits
                ],
            }
        )
        return 0
    if not hits:
        say(f"No conversation contains: {query}")
        return 0
    if hits.ranked_newest is not None:
        print(
            f"(More than {hits.ranked_newest:,} messages match: the newest {hits.ranked_newest:,} "
            "were ranked. Add a word to narrow the search.)",
            file=sys.stderr,
        )
    for h in hits:
        say(f"{h.conversation_id:>6}  {_when(h.updated)}  {h.title}")
        line = for_stream(f"        {h.snippet}", sys.stdout)
        sys.stdout.write(line.replace(_BOLD_ON, "\x1b[1m").replace(_BOLD_OFF, "\x1b[22m") + "\n")
    return 0


def _show(store: HistoryStore, args: argparse.Namespace) -> int:
    if args.json:
        from lmtui.store.history_export import message_to_json

        summary, messages = store.get_conversation(args.id)
        print_json(
            {
                "conversation": _summary_json(summary),
                "messages": [{"id": m.id, "seq": m.seq} | message_to_json(m) for m in messages],
            }
        )
        return 0
    write(store.export([args.id], "md"))
    return 0


def _export(store: HistoryStore, args: argparse.Namespace) -> int:
    ids = None if args.id is None else [args.id]
    if args.out in (None, "-"):
        write(store.export(ids, args.format))
        return 0
    from lmtui.services.history_files import check_export_path, export_to_file

    path = check_export_path(args.out, force=args.force)
    export_to_file(store, ids, args.format, path, force=args.force)
    warn(f"Exported to {path}")
    return 0


def _import(store: HistoryStore, args: argparse.Namespace) -> int:
    from lmtui.services.history_ops import import_conversations

    count = import_conversations(store, Path(args.file))
    say(f"Imported {count} conversation{'s' if count != 1 else ''} from {args.file}")
    return 0


def _rm(store: HistoryStore, args: argparse.Namespace) -> int:
    from lmtui.services.history_ops import delete_conversation

    delete_conversation(store, args.id)
    say(f"Moved conversation {args.id} to the trash (undo: lmtui history restore {args.id})")
    return 0


def _restore(store: HistoryStore, args: argparse.Namespace) -> int:
    from lmtui.services.history_ops import restore_conversation

    restore_conversation(store, args.id)
    say(f"Restored conversation {args.id}")
    return 0


def _purge(store: HistoryStore, args: argparse.Namespace) -> int:
    from lmtui.services.history_ops import purge_trash

    count = purge_trash(store)
    say(f"Deleted {count} conversation{'s' if count != 1 else ''} for good")
    return 0


def _rename(store: HistoryStore, args: argparse.Namespace) -> int:
    title = " ".join(args.title)
    from lmtui.services.history_ops import rename_conversation

    rename_conversation(store, args.id, title)
    say(f"Renamed conversation {args.id}")
    return 0


_ACTIONS = {
    "list": _list,
    "search": _search,
    "show": _show,
    "export": _export,
    "import": _import,
    "rm": _rm,
    "restore": _restore,
    "purge": _purge,
    "rename": _rename,
}

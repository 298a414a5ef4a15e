"""``lmtui history`` through the real entry point, in a subprocess."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An environment whose XDG directories are all inside ``tmp_path``."""
    out = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        out[name] = str(tmp_path / name.lower())
    return out


def lmtui(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m lmtui ARGS`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "lmtui", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok_json(env: dict[str, str], *args: str) -> Any:
    """Run a ``--json`` command that must succeed; return its decoded output."""
    done = lmtui(env, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def imported(env: dict[str, str], tmp_path: Path) -> dict[str, int]:
    """Three conversations imported through the CLI; title → id."""
    lines = [
        {
            "title": "Wombat care",
            "messages": [
                {"role": "user", "content": "How do I feed a wombat?"},
                {"role": "assistant", "content": "Grasses and roots.\nNever bread."},
            ],
        },
        {"messages": [{"role": "user", "content": "Tell me about the quokka"}]},
        {"title": "Marsupials", "messages": [{"role": "user", "content": "wombat or quokka?"}]},
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    done = lmtui(env, "history", "import", str(path))
    assert done.returncode == 0, done.stderr
    assert "Imported 3 conversations" in done.stdout
    listed = ok_json(env, "history", "list")["conversations"]
    return {c["title"]: c["id"] for c in listed}


def test_search_of_a_word_in_more_messages_than_are_ranked_says_so(
    env: dict[str, str], tmp_path: Path
) -> None:
    # One conversation of 5,001 messages with the word: one more than a search ranks.
    messages = [{"role": "user", "content": f"pebble number {i}"} for i in range(5001)]
    path = tmp_path / "many.jsonl"
    path.write_text(json.dumps({"title": "Stones", "messages": messages}), encoding="utf-8")
    assert lmtui(env, "history", "import", str(path)).returncode == 0
    out = ok_json(env, "history", "search", "pebble")
    assert out["ranked_newest"] == 5000
    assert [h["title"] for h in out["hits"]] == ["Stones"]
    text = lmtui(env, "history", "search", "pebble")
    assert text.returncode == 0
    assert "the newest 5,000 were ranked" in text.stderr
    assert ok_json(env, "history", "search", "number", "4999")["ranked_newest"] is None


def test_history_file_lives_in_xdg_data_home(env: dict[str, str], imported: dict[str, int]) -> None:
    db = Path(env["XDG_DATA_HOME"]) / "lmtui" / "history.sqlite3"
    assert db.exists()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700


def test_list(env: dict[str, str], imported: dict[str, int]) -> None:
    assert set(imported) == {"Wombat care", "Tell me about the quokka", "Marsupials"}
    convs = ok_json(env, "history", "list")["conversations"]
    assert set(convs[0]) == {
        "id",
        "title",
        "created",
        "updated",
        "model",
        "preset",
        "server",
        "message_count",
        "deleted",
    }
    assert {c["title"]: c["message_count"] for c in convs} == {
        "Wombat care": 2,
        "Tell me about the quokka": 1,
        "Marsupials": 1,
    }
    assert len(ok_json(env, "history", "list", "--limit", "2")["conversations"]) == 2
    text = lmtui(env, "history", "list")
    assert text.returncode == 0
    assert text.stdout.splitlines()[0].split() == ["ID", "UPDATED", "MSGS", "MODEL", "TITLE"]
    assert "Wombat care" in text.stdout


def test_search(env: dict[str, str], imported: dict[str, int]) -> None:
    out = ok_json(env, "history", "search", "wombat")
    assert out["query"] == "wombat"
    ids = {h["id"] for h in out["hits"]}
    assert ids == {imported["Wombat care"], imported["Marsupials"]}
    assert all("«wombat»" in h["snippet"].lower() for h in out["hits"])
    out = ok_json(env, "history", "search", "wombat", "quokka")
    assert [h["id"] for h in out["hits"]] == [imported["Marsupials"]]
    assert ok_json(env, "history", "search", '"-*:')["hits"] == []
    text = lmtui(env, "history", "search", "never")
    assert text.returncode == 0
    assert "Wombat care" in text.stdout
    assert "«Never» bread" in text.stdout  # not a terminal: plain marks, no escape codes
    none = lmtui(env, "history", "search", "platypus")
    assert none.returncode == 0
    assert "No conversation contains: platypus" in none.stdout


def test_show(env: dict[str, str], imported: dict[str, int]) -> None:
    cid = imported["Wombat care"]
    out = ok_json(env, "history", "show", str(cid))
    assert out["conversation"]["title"] == "Wombat care"
    assert [(m["seq"], m["role"]) for m in out["messages"]] == [(1, "user"), (2, "assistant")]
    assert out["messages"][1]["content"] == "Grasses and roots.\nNever bread."
    text = lmtui(env, "history", "show", str(cid))
    assert text.stdout.startswith("# Wombat care\n")
    assert "## Assistant" in text.stdout


def test_export_refuses_an_existing_file_unless_forced(
    env: dict[str, str], imported: dict[str, int], tmp_path: Path
) -> None:
    # One policy for the TUI and the CLI: never overwrite by surprise; --force
    # replaces the file, and the new one is private even if the old one was not.
    out = tmp_path / "taken.md"
    out.write_text("keep me", encoding="utf-8")
    out.chmod(0o644)
    refused = lmtui(env, "history", "export", "--out", str(out))
    assert refused.returncode != 0
    assert "already exists" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert out.read_text(encoding="utf-8") == "keep me"
    forced = lmtui(env, "history", "export", "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert out.read_text(encoding="utf-8").startswith("# ")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_export_to_file_and_import_it_back(
    env: dict[str, str], imported: dict[str, int], tmp_path: Path
) -> None:
    out = tmp_path / "all.json"
    done = lmtui(env, "history", "export", "--format", "json", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["lmtui_export"] == 1
    assert len(doc["conversations"]) == 3
    md = lmtui(env, "history", "export", str(imported["Marsupials"]))
    assert md.stdout.startswith("# Marsupials\n")
    assert "Wombat care" not in md.stdout
    other = dict(env, XDG_DATA_HOME=str(tmp_path / "other-data"))
    assert lmtui(other, "history", "import", str(out)).returncode == 0
    assert (
        ok_json(other, "history", "list")["conversations"]
        == ok_json(env, "history", "list")["conversations"]
    )


def test_rename_rm_restore_purge(env: dict[str, str], imported: dict[str, int]) -> None:
    cid = str(imported["Wombat care"])
    assert lmtui(env, "history", "rename", cid, "Feeding", "wombats").returncode == 0
    assert ok_json(env, "history", "show", cid)["conversation"]["title"] == "Feeding wombats"
    done = lmtui(env, "history", "rm", cid)
    assert done.returncode == 0
    assert f"lmtui history restore {cid}" in done.stdout
    titles = {c["title"] for c in ok_json(env, "history", "list")["conversations"]}
    assert "Feeding wombats" not in titles
    trash = ok_json(env, "history", "list", "--trash")["conversations"]
    assert [c["id"] for c in trash] == [int(cid)]
    assert trash[0]["deleted"] is not None
    assert lmtui(env, "history", "restore", cid).returncode == 0
    assert len(ok_json(env, "history", "list")["conversations"]) == 3
    assert lmtui(env, "history", "rm", cid).returncode == 0
    assert "Deleted 1 conversation for good" in lmtui(env, "history", "purge").stdout
    assert lmtui(env, "history", "show", cid).returncode == 12


def test_errors_are_one_line_with_a_remedy(
    env: dict[str, str], imported: dict[str, int], tmp_path: Path
) -> None:
    missing = lmtui(env, "history", "show", "999")
    assert missing.returncode == 12
    assert missing.stderr.splitlines()[0] == "lmtui: No conversation with id 999."
    assert "remedy:" in missing.stderr
    assert "Traceback" not in missing.stderr
    as_json = lmtui(env, "history", "show", "999", "--json")
    assert json.loads(as_json.stdout)["error"] == "not_found"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\n{"messages": [{"role": "user"}]}\n', encoding="utf-8")
    done = lmtui(env, "history", "import", str(bad))
    assert done.returncode == 2
    assert "line 2" in done.stderr
    assert len(ok_json(env, "history", "list")["conversations"]) == 3
    empty_title = lmtui(env, "history", "rename", str(imported["Marsupials"]), " ")
    assert empty_title.returncode == 2


def test_unusable_data_dir_exits_11(env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    done = lmtui(dict(env, XDG_DATA_HOME=str(blocker)), "history", "list")
    assert done.returncode == 11
    assert done.stderr.startswith("lmtui: history is not being saved: ")
    assert "Traceback" not in done.stderr


def test_search_does_not_import_textual_or_httpx(env: dict[str, str]) -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['lmtui', 'history', 'search', 'x', '--json']\n"
        "try:\n"
        "    runpy.run_module('lmtui', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'httpx')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"

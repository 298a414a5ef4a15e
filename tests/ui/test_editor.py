"""Editing the draft in an external editor, with fake editor scripts."""

from __future__ import annotations

import json
import shlex
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from textual.app import App

from lmtui.backend.errors import ConfigError
from lmtui.ui.editor import EXIT_NOT_FOUND, edit_externally, editor_command, run_editor

# A stand-in editor: records what it was given, then rewrites the file (or fails).
FAKE_EDITOR = """
import json, os, stat, sys
path = sys.argv[-1]
with open(path, encoding="utf-8") as handle:
    before = handle.read()
record = {
    "argv": sys.argv[1:],
    "mode": stat.S_IMODE(os.stat(path).st_mode),
    "before": before,
    "stdin_tty": sys.stdin.isatty() if sys.stdin else False,
}
with open(os.environ["FAKE_EDITOR_LOG"], "w", encoding="utf-8") as handle:
    json.dump(record, handle)
if os.environ.get("FAKE_EDITOR_FAIL"):
    sys.exit(int(os.environ["FAKE_EDITOR_FAIL"]))
with open(path, "w", encoding="utf-8") as handle:
    text = os.environ.get("FAKE_EDITOR_TEXT")
    handle.write(before.upper() if text is None else text + "\\n")  # saved files end in \\n
"""


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


@pytest.fixture(autouse=True)
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the drafts' temp files go, so each test can see they were removed."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


@pytest.fixture
def fake_editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Install the fake editor as $VISUAL; returns the file it logs to."""
    script = tmp_path / "fake editor.py"  # a space, so the command must be split properly
    script.write_text(FAKE_EDITOR, encoding="utf-8")
    log = tmp_path / "editor-log.json"
    monkeypatch.setenv("VISUAL", f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} -w")
    monkeypatch.setenv("EDITOR", "should-not-be-used")
    monkeypatch.setenv("FAKE_EDITOR_LOG", str(log))
    monkeypatch.delenv("FAKE_EDITOR_FAIL", raising=False)
    return log


def read_log(log: Path) -> dict[str, object]:
    data = json.loads(log.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


class NotedApp(App[None]):
    """Records the notifications it is asked to show."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []

    def notify(self, message: str, **kwargs: Any) -> None:
        self.notes.append(message)
        super().notify(message, **kwargs)


async def test_returns_the_edited_text_and_removes_the_private_temp_file(
    fake_editor: Path, temp_dir: Path
) -> None:
    app = NotedApp()
    async with app.run_test() as pilot:
        result = await edit_externally(app, "draft about *tables*")
        await pilot.pause()
    assert result == "DRAFT ABOUT *TABLES*"  # the editor's final newline is not kept
    record = read_log(fake_editor)
    assert record["before"] == "draft about *tables*\n"  # a text file ends in a newline
    assert record["mode"] == 0o600
    assert record["stdin_tty"] is False  # headless: no terminal handed over
    argv = record["argv"]
    assert isinstance(argv, list)
    assert argv[0] == "-w"
    temp = Path(argv[-1])
    assert temp.suffix == ".md"
    assert temp.parent == temp_dir
    assert not temp.exists()


async def test_keeps_a_trailing_newline_the_draft_had(
    fake_editor: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EDITOR_TEXT", "line one\nline two")
    app = NotedApp()
    async with app.run_test():
        result = await edit_externally(app, "old\n", suffix=".txt")
    assert result == "line one\nline two\n"
    argv = read_log(fake_editor)["argv"]
    assert isinstance(argv, list)
    assert str(argv[-1]).endswith(".txt")


async def test_a_line_appended_by_the_editor_is_not_glued_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    appender = tmp_path / "append.sh"
    appender.write_text('#!/bin/sh\nprintf "line two\\n" >> "$1"\n', encoding="utf-8")
    appender.chmod(0o700)
    monkeypatch.setenv("VISUAL", str(appender))
    app = NotedApp()
    async with app.run_test():
        assert await edit_externally(app, "line one") == "line one\nline two"
        assert await edit_externally(app, "line one\n") == "line one\nline two\n"


async def test_failing_editor_returns_none_and_says_why(
    fake_editor: Path, temp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EDITOR_FAIL", "3")
    app = NotedApp()
    async with app.run_test() as pilot:
        result = await edit_externally(app, "keep me")
        await pilot.pause()
    assert result is None
    assert any("exited with status 3" in m and "unchanged" in m for m in app.notes)
    assert read_log(fake_editor)["before"] == "keep me\n"
    assert list(temp_dir.iterdir()) == []


async def test_missing_editor_returns_none(
    tmp_path: Path, temp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISUAL", str(tmp_path / "no-such-editor"))
    app = NotedApp()
    async with app.run_test() as pilot:
        result = await edit_externally(app, "keep me")
        await pilot.pause()
    assert result is None
    assert any("was not found" in m for m in app.notes)
    assert list(temp_dir.iterdir()) == []


async def test_unparseable_editor_variable_returns_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISUAL", "vim '-c")
    app = NotedApp()
    async with app.run_test() as pilot:
        result = await edit_externally(app, "keep me")
        await pilot.pause()
    assert result is None
    assert any("$VISUAL is not a valid command line" in m for m in app.notes)


def test_editor_command_precedence() -> None:
    assert editor_command({"VISUAL": "code --wait", "EDITOR": "nano"}) == ["code", "--wait"]
    assert editor_command({"VISUAL": "  ", "EDITOR": "nano -R"}) == ["nano", "-R"]
    assert editor_command({}) == ["vi"]
    with pytest.raises(ConfigError, match=r"\$EDITOR"):
        editor_command({"EDITOR": 'emacs "unterminated'})


def test_run_editor_reports_status(tmp_path: Path) -> None:
    target = tmp_path / "draft.md"
    target.write_text("x", encoding="utf-8")
    exit_with = tmp_path / "exit.py"
    exit_with.write_text("import sys; sys.exit(int(sys.argv[1]))", encoding="utf-8")
    base = f"{shlex.quote(sys.executable)} {shlex.quote(str(exit_with))}"
    # The file's path is the last argument, so "exit.py <path>" fails int(): status 1.
    assert run_editor(target, {"EDITOR": base}, interactive=False) == 1
    touch = tmp_path / "touch.py"
    touch.write_text("import sys; open(sys.argv[-1], 'a').write('!')", encoding="utf-8")
    env = {"EDITOR": f"{shlex.quote(sys.executable)} {shlex.quote(str(touch))}"}
    assert run_editor(target, env, interactive=False) == 0
    assert target.read_text(encoding="utf-8") == "x!"
    assert run_editor(target, {"EDITOR": str(tmp_path / "missing")}, interactive=False) == (
        EXIT_NOT_FOUND
    )
    not_executable = tmp_path / "plain.txt"
    not_executable.write_text("", encoding="utf-8")
    not_executable.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert run_editor(target, {"EDITOR": str(not_executable)}, interactive=False) == 126

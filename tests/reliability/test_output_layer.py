"""Server and history text reaches no terminal as a control sequence, on any CLI path.

Two layers of proof: Hypothesis drives generated control sequences through the output
layer's functions (``lmtui.cli.output``, ``lmtui.services.terminal_text``), and a
hostile server plus a poisoned history drive one hostile string through every CLI
command that prints them, with stdout and stderr on a pseudo-terminal.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmtui.cli import output
from lmtui.services.terminal_text import json_text
from tests.conftest import REPO_ROOT
from tests.fake_server import FakeModel, FakeServer, Reply
from tests.reliability.conftest import lmtui_env

TITLE = "\x1b]0;pwned\x07"
CLIPBOARD = "\x1b]52;c;ZXZpbA==\x07"
CSI8 = "\x9b31m"
BIDI = "\u202eevil\u202c"
HOSTILE = f"{TITLE}{CLIPBOARD}{CSI8}{BIDI}\x1b[2J"
FORBIDDEN = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c", "\r")

controls = st.characters(
    codec="utf-8",
    categories=("Cc", "Cf", "Zl", "Zp"),
    include_characters="\x1b\x07\x9b\u202e\u2066",
)
hostile_text = st.lists(st.one_of(controls, st.text(max_size=5)), max_size=30).map("".join)


class Tty(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def shown_controls(text: str) -> set[str]:
    """Characters a terminal would interpret (tab and newline excepted)."""
    return {c for c in text if (ord(c) < 0x20 and c not in "\t\n") or 0x7F <= ord(c) < 0xA0} | {
        c for c in text if c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    }


@settings(max_examples=300)
@given(hostile_text)
def test_every_output_function_makes_generated_controls_inert(text: str) -> None:
    out, err = Tty(), Tty()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        output.say(text)
        output.write(text)
        output.warn(text)
        output.data_writer(out)(text)
        output.data_writer(err)(text)
        output.print_json({"t": text})
    assert not shown_controls(out.getvalue())
    assert not shown_controls(err.getvalue())


@given(hostile_text)
def test_json_escapes_c1_and_bidi_and_keeps_the_value(text: str) -> None:
    encoded = json_text({"k": text, "l": [text]})
    assert not shown_controls(encoded.replace("\n", ""))
    assert json.loads(encoded) == {"k": text, "l": [text]}


@given(hostile_text)
def test_pipes_get_the_exact_text(text: str) -> None:
    pipe = io.StringIO()
    output.write(text, stream=pipe)
    output.data_writer(pipe)(text)
    assert pipe.getvalue() == text + text


def run_on_tty(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``python -m lmtui ARGS`` with stdout and stderr on one pseudo-terminal."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmtui", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=lmtui_env(env),
        cwd=REPO_ROOT,
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            assert ready, "lmtui wrote nothing for too long"
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=60)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    # The pty turns \n into \r\n: that carriage return is the terminal's, not the server's.
    return code, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


# lmtui's own escapes (ask's dim reasoning and progress line), not the server's.
OWN_ESCAPES = ("\x1b[2m", "\x1b[0m", "\r\x1b[K")


def assert_inert(text: str, *, visible: bool = True) -> None:
    for own in OWN_ESCAPES:
        text = text.replace(own, "")
    found = [c for c in FORBIDDEN if c in text]
    assert not found, (found, text[-400:])
    if visible:  # the hostile text is still shown, harmlessly
        assert "pwned" in text or "evil" in text or "ZXZpbA" in text, text[-400:]


@pytest.fixture
def hostile() -> FakeServer:
    models = [FakeModel(f"m{HOSTILE}", loaded=True), FakeModel(f"x{HOSTILE}")]
    with FakeServer(models=models) as srv:
        yield srv


def test_server_text_is_inert_on_every_cli_path(hostile: FakeServer) -> None:
    url = hostile.base_url
    model = f"m{HOSTILE}"
    cases: list[tuple[str, ...]] = [
        ("models",),
        ("models", "--json"),
        ("doctor",),
        ("servers",),
    ]
    for args in cases:
        code, text = run_on_tty("--base-url", url, *args)
        assert "Traceback" not in text, text
        assert_inert(text, visible=args[0] != "servers")
    # ask: the model id the server reports (-v), reasoning on stderr, the fallback note,
    # and an error message from the server.
    hostile.enqueue(Reply(text=f"ok {HOSTILE}", reasoning=[HOSTILE], model=f"served{HOSTILE}"))
    code, text = run_on_tty("--base-url", url, "-m", model, "ask", "-v", "--reasoning", "hi")
    assert code == 0, text
    assert_inert(text)
    assert "served" in text
    hostile.enqueue(Reply(text="fine"))
    code, text = run_on_tty("--base-url", url, "ask", "-v", "hi")
    assert_inert(text)
    hostile.enqueue(Reply(status=500, body={"error": {"message": f"boom {HOSTILE}"}}))
    code, text = run_on_tty("--base-url", url, "-m", model, "ask", "hi")
    assert code == 10
    assert_inert(text)
    hostile.enqueue(Reply(status=500, body={"error": {"message": f"boom {HOSTILE}"}}))
    code, text = run_on_tty("--base-url", url, "-m", model, "ask", "--json", "hi")
    assert_inert(text)
    hostile.enqueue(Reply(text=f"json {HOSTILE}", model=f"served{HOSTILE}"))
    code, text = run_on_tty("--base-url", url, "-m", model, "ask", "--json", "hi")
    assert code == 0
    assert_inert(text)


def test_history_text_is_inert_on_every_cli_path(tmp_path: Path) -> None:
    poisoned = tmp_path / "poisoned.jsonl"
    conv = {
        "title": f"title {HOSTILE}",
        "model": f"model {HOSTILE}",
        "messages": [
            {"role": "user", "content": f"needle {HOSTILE}"},
            {"role": "assistant", "content": f"needle reply {HOSTILE}"},
        ],
    }
    poisoned.write_text(json.dumps(conv) + "\n", encoding="utf-8")
    code, text = run_on_tty("history", "import", str(poisoned))
    assert code == 0, text
    for args in (
        ("history", "list"),
        ("history", "list", "--json"),
        ("history", "search", "needle"),
        ("history", "search", "needle", "--json"),
        ("history", "show", "1"),
        ("history", "show", "1", "--json"),
        ("history", "export"),
        ("history", "export", "--format", "json"),
    ):
        code, text = run_on_tty(*args)
        assert code == 0, (args, text)
        # The bold marks of a search hit are lmtui's own escapes.
        assert_inert(text.replace("\x1b[1m", "").replace("\x1b[22m", ""))

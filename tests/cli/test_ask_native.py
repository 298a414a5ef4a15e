"""``lmtui ask`` over /api/v1/chat and the reasoning edge cases, through the real entry point."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from lmtui.backend.types import ContentWasReasoning, LoadProgress, PromptProgress
from lmtui.cli.ask_progress import CLEAR_LINE, AskDisplay
from tests.conftest import RunLmtui
from tests.fake_native_chat import NativeReply, native
from tests.fake_server import FakeServer, Reply

LOADED = "qwen2.5-7b-instruct"
UNLOADED = "deepseek-r1-distill-qwen-14b"


@pytest.fixture
def fake(fake_server: FakeServer) -> FakeServer:
    fake_server.native_chat = True
    return fake_server


def ask(run_lmtui: RunLmtui, fake: FakeServer, *args: str):  # type: ignore[no-untyped-def]
    return run_lmtui("--base-url", fake.base_url, "ask", "--no-save", *args)


def test_piped_ask_prints_exactly_the_answer(fake: FakeServer, run_lmtui: RunLmtui) -> None:
    native(fake).enqueue(
        NativeReply(text="Paris.", reasoning=("Capital of France.",), load_steps=(0.5, 1.0))
    )
    done = ask(run_lmtui, fake, "--model", UNLOADED, "capital of France?")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Paris.\n"
    # stderr is not a terminal: no progress line, no reasoning (not asked for).
    assert done.stderr == ""
    assert fake.requests_to("/api/v1/chat")[-1].json_body["input"] == "capital of France?"


def test_reasoning_only_reply_exits_non_zero_with_the_reason(
    fake: FakeServer, run_lmtui: RunLmtui
) -> None:
    native(fake).enqueue(NativeReply(text="", reasoning=("The answer is 4, I think",)))
    done = ask(run_lmtui, fake, "--model", LOADED, "2+2?")
    assert done.returncode == 14
    assert done.stdout == ""
    assert "answered only in its reasoning: raise max tokens, or turn reasoning off" in done.stderr


def test_reasoning_only_on_the_openai_path_too(fake: FakeServer, run_lmtui: RunLmtui) -> None:
    # LM Studio 0.4.6: content "", finish stop, usage all zeros.
    zeros = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    fake.enqueue(Reply(deltas=[], reasoning=["4, because 2+2"], usage=zeros))
    done = ask(run_lmtui, fake, "--native", "off", "--model", LOADED, "2+2?")
    assert done.returncode == 14, done.stderr
    assert "only in its reasoning" in done.stderr


def test_json_answer_in_the_reasoning_is_printed(fake: FakeServer, run_lmtui: RunLmtui) -> None:
    fake.enqueue(Reply(deltas=[], reasoning=['{"city": ', '"Paris"}']))
    done = ask(run_lmtui, fake, "--native", "off", "--model", LOADED, "json please")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"city": "Paris"}
    assert "JSON answer came in the model's reasoning" in done.stderr


def test_both_reasoning_fields_are_not_doubled(fake: FakeServer, run_lmtui: RunLmtui) -> None:
    fake.enqueue(Reply(deltas=["ok"], reasoning=["think"], reasoning_mode="reasoning_content"))
    done = ask(run_lmtui, fake, "--native", "off", "--json", "--model", LOADED, "x")
    assert json.loads(done.stdout)["reasoning"] == "think"


def test_verbose_report_starts_on_its_own_line(fake: FakeServer, run_lmtui: RunLmtui) -> None:
    native(fake).enqueue(NativeReply(text="Answer", reasoning=("no newline at the end",)))
    done = ask(run_lmtui, fake, "--reasoning", "-v", "--model", LOADED, "x")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Answer\n"
    lines = done.stderr.splitlines()
    assert lines[0] == "no newline at the end"
    report = lines[1]
    assert report.startswith("lmtui: model: ")
    assert "path: native: a new conversation" in report
    assert "LM Studio: input tokens 1" in report and "reasoning tokens 5" in report


def test_think_is_sent_as_reasoning(fake: FakeServer, run_lmtui: RunLmtui) -> None:
    done = ask(run_lmtui, fake, "--think", "off", "--model", UNLOADED, "x")
    assert done.returncode == 0, done.stderr
    assert fake.requests_to("/api/v1/chat")[-1].json_body["reasoning"] == "off"
    refused = ask(run_lmtui, fake, "--think", "high", "--model", UNLOADED, "x")
    assert refused.returncode == 10
    assert "Supported: off, on" in refused.stderr and "Traceback" not in refused.stderr


def test_unknown_integration_is_a_config_error(fake: FakeServer, run_lmtui: RunLmtui) -> None:
    done = ask(run_lmtui, fake, "--integration", "nope", "--model", LOADED, "x")
    assert done.returncode == 2
    assert "No integration named nope" in done.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal_is_cleared_before_the_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    err = _Terminal()
    display = AskDisplay(err, show_reasoning=True)
    display.progress(LoadProgress(0.5))
    assert err.getvalue().startswith(CLEAR_LINE + "lmtui: loading the model  50% · ")
    display.progress(PromptProgress(1.0, done=True))
    display.reasoning("why")
    display.before_answer()
    display.end()
    text = err.getvalue()
    # The progress line is cleared, the reasoning is headed and ends with a blank line.
    assert text.endswith(CLEAR_LINE + "Reasoning:\nwhy\n\n")


def test_no_progress_when_stderr_is_not_a_terminal() -> None:
    err = io.StringIO()
    display = AskDisplay(err, show_reasoning=False)
    display.progress(LoadProgress(0.5))
    display.progress(PromptProgress(0.5))
    display.end()
    assert err.getvalue() == ""
    display.progress(ContentWasReasoning())
    assert "was the model's reasoning" in err.getvalue()


def test_mcp_tool_call_is_searchable_and_survives_export_import(
    fake: FakeServer, run_lmtui: RunLmtui, tmp_path: Path
) -> None:
    from tests.fake_native_chat import FakeToolCall

    call = FakeToolCall(
        tool="model_search",
        arguments={"query": "okapi"},
        provider={"type": "ephemeral_mcp", "server_label": "huggingface"},
        output="Found okapi-7b-giraffid by zoo-lab",
    )
    native(fake).enqueue(NativeReply(text="The top model is okapi-7b.", tool_calls=(call,)))
    done = run_lmtui("--base-url", fake.base_url, "ask", "--model", LOADED, "find a model")
    assert done.returncode == 0, done.stderr
    found = run_lmtui("history", "search", "giraffid", "--json")
    assert found.returncode == 0, found.stderr
    (hit,) = json.loads(found.stdout)["hits"]
    assert "[tool model_search]" in hit["snippet"]
    out = tmp_path / "export.json"
    exported = run_lmtui("history", "export", "--format", "json", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    # Import into a fresh history (another data directory).
    other = {"XDG_DATA_HOME": str(tmp_path / "other-data")}
    imported = run_lmtui("history", "import", str(out), env=other)
    assert imported.returncode == 0, imported.stderr
    again = run_lmtui("history", "search", "giraffid", "--json", env=other)
    (hit2,) = json.loads(again.stdout)["hits"]
    shown = run_lmtui("history", "show", str(hit2["id"]), "--json", env=other)
    messages = json.loads(shown.stdout)["messages"]
    calls = messages[-1]["tool_calls"]
    assert calls[0]["name"] == "model_search" and calls[0]["provider"] == "huggingface"
    assert json.loads(calls[0]["arguments"]) == {"query": "okapi"}

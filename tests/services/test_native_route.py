"""Route decisions (pure) and the reply facts folded from native events."""

from __future__ import annotations

import pytest

from lmtui.backend.errors import ServerError
from lmtui.backend.types import Model, NativeStats, SamplingParams
from lmtui.services.native_route import (
    Turn,
    check_reasoning,
    choose_route,
    reasoning_choices,
    reasoning_effort,
)
from lmtui.services.reply_extras import (
    JSON_IN_REASONING,
    NOT_REPORTED,
    ONLY_REASONING,
    answer_check,
    answer_findings,
    stats_figures,
)

SERVER = "http://127.0.0.1:1234"
CHAINED = [Turn("user"), Turn("assistant", response_id="resp_1", response_server=SERVER)]


def route(**kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "mode": "auto",
        "has_native": True,
        "server": SERVER,
        "params": SamplingParams(),
        "before": CHAINED,
    }
    args.update(kw)
    return choose_route(**args)  # type: ignore[arg-type]


def test_first_turn_and_chained_turn_go_native() -> None:
    assert route(before=[]).native
    chained = route()
    assert chained.native and chained.previous_response_id == "resp_1"


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        ({"mode": "off"}, "off"),
        ({"has_native": False}, "does not offer"),
        ({"params": SamplingParams(stop=("END",))}, "stop"),
        ({"params": SamplingParams(seed=7)}, "seed"),
        ({"params": SamplingParams(presence_penalty=0.5)}, "presence_penalty"),
        ({"params": SamplingParams(frequency_penalty=0.5)}, "frequency_penalty"),
        ({"needs_custom_tools": True}, "custom tools"),
        ({"before": [Turn("user"), Turn("assistant")]}, "no LM Studio response id"),
        (
            {"before": [Turn("assistant", "stopped", "resp_1", SERVER)]},
            "no LM Studio response id",
        ),
        ({"server": "http://other:1234"}, "another server"),
    ],
)
def test_openai_path_whenever_native_cannot_carry_the_turn(kw: dict[str, object], why: str) -> None:
    chosen = route(**kw)
    assert not chosen.native and why in chosen.reason
    assert chosen.previous_response_id is None


def test_on_without_native_is_an_error_with_a_remedy() -> None:
    with pytest.raises(ServerError) as info:
        route(mode="on", has_native=False)
    assert "auto" in info.value.remedy


def test_reasoning_offered_only_as_the_model_allows() -> None:
    gpt = Model(
        "openai/gpt-oss-20b",
        reasoning_options=("low", "medium", "high"),
        reasoning_default="medium",
    )
    assert reasoning_choices(gpt) == ("low", "medium", "high")
    assert check_reasoning(gpt, "high") is None
    refused = check_reasoning(gpt, "off")
    assert refused is not None and "low, medium, high" in refused and "default medium" in refused
    assert reasoning_choices(Model("plain")) == ()
    assert check_reasoning(None, "bogus") is not None
    assert (reasoning_effort("high"), reasoning_effort("on"), reasoning_effort(None)) == (
        "high",
        None,
        None,
    )


def test_zero_counts_are_not_reported() -> None:
    stats = NativeStats.from_json(
        {
            "input_tokens": 12,
            "total_output_tokens": 0,
            "reasoning_output_tokens": 0,
            "tokens_per_second": 30.0,
            "time_to_first_token_seconds": 0.2,
        }
    )
    assert stats is not None
    figures = dict(stats_figures(stats))
    assert figures["input tokens"] == "12"
    assert figures["output tokens"] == figures["reasoning tokens"] == NOT_REPORTED
    assert figures["first token"] == "200 ms"
    assert "model load" not in figures


def test_answer_only_in_reasoning_is_flagged() -> None:
    check = answer_check("", "Let me think... the answer is 4")
    assert check.only_reasoning and check.note == ONLY_REASONING
    assert not answer_check("4", "thinking").only_reasoning
    assert answer_check("", "").note is None


def test_json_answer_in_reasoning_is_surfaced() -> None:
    check = answer_check("  ", '```json\n{"answer": 4}\n```')
    assert check.answer == '{"answer": 4}' and check.note == JSON_IN_REASONING
    assert not check.only_reasoning


def test_troubleshooting_finds_an_answer_left_in_the_reasoning() -> None:
    findings = answer_findings([None, ONLY_REASONING, None, JSON_IN_REASONING])
    assert [(f.id, f.severity) for f in findings] == [
        ("answer_only_in_reasoning", "warn"),
        ("json_in_reasoning", "info"),
    ]
    assert "Raise max tokens" in findings[0].remedy
    assert answer_findings([None, None]) == []


def test_applying_a_preset_sets_reasoning_and_its_integrations() -> None:
    from lmtui.backend.native_chat import Integration
    from lmtui.services.chat import ChatSession
    from lmtui.services.presets_apply import apply_preset
    from lmtui.store.presets import Preset

    class _NoClient:
        base_url = SERVER
        capabilities = None

    session = ChatSession(_NoClient(), model="m")  # type: ignore[arg-type]
    playwright = Integration(plugin_id="mcp/playwright")
    preset = Preset(name="Browse", reasoning="low", integrations=("playwright", "gone"))
    reason = apply_preset(session, preset, [Model("m")], {"playwright": playwright})
    assert session.reasoning == "low"
    assert session.integrations == (playwright,)
    assert "integration gone is not in the config" in reason

"""Findings about model lists, independent of any server."""

from __future__ import annotations

from lmtui.backend.client import Exchange
from lmtui.backend.types import Model, ModelType, Usage
from lmtui.services.doctor import exchange_findings, model_findings


def ids(findings: list) -> list[str]:  # type: ignore[type-arg]
    return [f.id for f in findings]


def test_no_models_is_an_error_with_remedy() -> None:
    found = model_findings([], None)
    assert ids(found) == ["no_models"]
    assert found[0].severity == "error" and "lms get" in found[0].remedy


def test_downloaded_but_not_loaded() -> None:
    found = model_findings([Model("a", loaded=False), Model("e", type=ModelType.EMBEDDINGS)], None)
    assert "no_model_loaded" in ids(found)
    assert "lms load" in next(f for f in found if f.id == "no_model_loaded").remedy


def test_loaded_model_reports_context() -> None:
    found = model_findings([Model("a", loaded=True, loaded_context_length=4096)], None)
    assert found[0].id == "models_loaded" and "4096" in found[0].detail
    assert all(f.ok for f in found)


def test_unknown_loaded_state_is_informational() -> None:
    found = model_findings([Model("a", loaded=None)], None)
    assert ids(found) == ["models_listed"] and found[0].ok


def test_missing_wanted_model_lists_what_exists() -> None:
    found = model_findings([Model("a", loaded=True), Model("b", loaded=False)], "zzz")
    miss = next(f for f in found if f.id == "model_not_found")
    assert miss.severity == "error" and "a, b" in miss.detail


def test_exchange_findings_truncated_and_slow() -> None:
    slow = Exchange("POST", "/v1/chat/completions", None, 0.0, model_requested="m")
    slow.finish_reason = "length"
    slow.tokens_per_second = 1.5
    slow.usage = Usage(1, 2, 3)
    found = exchange_findings([slow])
    assert {"truncated", "slow"} <= set(ids(found))
    assert "1.5" in next(f for f in found if f.id == "slow").title

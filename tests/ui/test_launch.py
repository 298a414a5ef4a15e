"""Choosing the server at start-up: configured, named-but-down, or the embedded one."""

from __future__ import annotations

import argparse
from contextlib import ExitStack

import httpx
import pytest

from lmtui.backend.urls import DEFAULT_BASE_URL
from lmtui.services.local_server import server_answers
from lmtui.store.config import Config
from lmtui.ui.launch import plan_launch, server_was_named, start_probe
from tests.fake_server import FakeServer

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there


def args(**values: object) -> argparse.Namespace:
    base = {"base_url": None, "model": None, "local": False, "gguf": None, "preset": None}
    base.update(values)
    return argparse.Namespace(**base)


def test_a_server_that_answers_is_used_as_is(fake: FakeServer) -> None:
    cfg = Config(base_url=fake.base_url, model="m")
    with ExitStack() as stack:
        plan = plan_launch(args(base_url=fake.base_url), cfg, stack)
    assert plan.cfg is cfg
    assert plan.unreachable is None
    assert plan.note == ""


def test_a_named_server_that_is_down_opens_unreachable_with_a_remedy() -> None:
    cfg = Config(base_url=CLOSED)
    with ExitStack() as stack:
        plan = plan_launch(args(base_url=CLOSED), cfg, stack)
    assert plan.unreachable is not None
    message, remedy = plan.unreachable
    assert CLOSED in message
    assert "lmtui local" in remedy or "Start" in remedy
    assert plan.cfg.base_url == CLOSED


def test_the_probe_is_asked_once_in_the_background_and_its_answer_used(fake: FakeServer) -> None:
    import socket

    cfg = Config(base_url=fake.base_url, model="m")
    probe = start_probe(args(base_url=fake.base_url), cfg)
    assert probe is not None
    with ExitStack() as stack:
        plan = plan_launch(args(base_url=fake.base_url), cfg, stack, probe)
    assert plan.unreachable is None
    assert len(fake.requests_to("/v1/models")) == 1  # the probe's, not a second one
    assert start_probe(args(local=True), cfg) is None  # --local asks no one
    # Against a server that never answers, the probe does not hold up its caller.
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        url = f"http://127.0.0.1:{hung.getsockname()[1]}"
        waiting = start_probe(args(base_url=url), Config(base_url=url))
        assert waiting is not None and waiting._thread.is_alive()
        assert waiting.answers() is False  # after its 0.5 s timeout


def test_server_was_named_by_flag_env_or_config(monkeypatch: pytest.MonkeyPatch) -> None:
    assert server_was_named(args(base_url=CLOSED), Config())
    assert server_was_named(args(), Config(base_url=CLOSED))
    assert not server_was_named(args(), Config(base_url=DEFAULT_BASE_URL))
    monkeypatch.setenv("LMTUI_BASE_URL", CLOSED)
    assert server_was_named(args(), Config())


@pytest.mark.real_server
def test_nothing_named_and_nothing_answering_starts_the_embedded_server() -> None:
    if server_answers(DEFAULT_BASE_URL, timeout=0.3):
        pytest.skip("something really listens on localhost:1234 here")  # cannot test fallback
    cfg = Config()
    with ExitStack() as stack:
        plan = plan_launch(args(), cfg, stack)
        assert "embedded llama.cpp server" in plan.note
        assert "LM Studio not found" in plan.note
        assert plan.cfg.base_url != DEFAULT_BASE_URL
        assert plan.cfg.model
        assert httpx.get(plan.cfg.base_url + "/v1/models", timeout=5).status_code == 200
        url = plan.cfg.base_url
    # Leaving the stack stopped it.
    assert not server_answers(url, timeout=0.3)

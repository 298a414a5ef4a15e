"""Replies are capped by default where a model may loop: built-in presets and the embedded model."""

from __future__ import annotations

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.types import SamplingParams
from lmtui.services.setup import capped, choose_chat_setup
from lmtui.store.builtin_presets import BUILTIN_PRESETS
from lmtui.store.config import Config, LocalConfig
from tests.fake_server import FakeServer


def test_every_builtin_preset_caps_its_replies() -> None:
    assert all(p.params.max_tokens is not None and p.params.max_tokens > 0 for p in BUILTIN_PRESETS)


def test_the_embedded_model_has_a_default_cap() -> None:
    assert LocalConfig().max_tokens > 0


def test_capped_keeps_a_chosen_limit() -> None:
    assert capped(SamplingParams(), 100).max_tokens == 100
    assert capped(SamplingParams(max_tokens=7), 100).max_tokens == 7
    assert capped(SamplingParams(max_tokens=-1), 100).max_tokens == -1
    assert capped(SamplingParams(temperature=0.5), None) == SamplingParams(temperature=0.5)


@pytest.mark.parametrize(("preset", "expected"), [(None, 300), ("SQL", 1024)])
async def test_setup_applies_the_default_cap_only_without_a_preset_limit(
    fake_server: FakeServer, preset: str | None, expected: int
) -> None:
    cfg = Config(base_url=fake_server.base_url, model="test-model", preset=preset)
    async with LMStudioClient(fake_server.base_url) as client:
        setup = await choose_chat_setup(client, cfg, default_max_tokens=300)
    assert setup.params.max_tokens == expected

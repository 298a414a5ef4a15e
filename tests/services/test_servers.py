"""ServerRegistry and the token warning, against real fake servers on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmtui.backend.errors import ConfigError
from lmtui.backend.types import ApiLevel, ServerKind
from lmtui.services import servers
from lmtui.services.servers import (
    ServerRegistry,
    insecure_token_warning,
    is_loopback_url,
    profile_of,
)
from lmtui.store.config import load_config
from lmtui.store.profiles import DEFAULT, LOCAL, ServerProfile
from tests.fake_server import FakeServer


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a new process would: no profile warned about yet."""
    monkeypatch.setattr(servers, "_warned", set())


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A loopback port that accepts connections but never answers a request."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def prof(name: str, url: str, **kw: object) -> ServerProfile:
    return ServerProfile(name=name, base_url=url, **kw)  # type: ignore[arg-type]


async def test_probe_all_reports_each_server(closed_port_url: str) -> None:
    with FakeServer() as healthy, FakeServer(native_v1=False, native_v0=False) as plain:
        registry = ServerRegistry(
            [
                prof(DEFAULT, healthy.base_url),
                prof("down", closed_port_url),
                prof("plain", plain.base_url),
            ]
        )
        async with registry:
            statuses = {s.profile.name: s for s in await registry.probe_all(timeout=5)}
    assert list(statuses) == [DEFAULT, "down", "plain", LOCAL]

    up = statuses[DEFAULT]
    assert up.reachable is True
    assert up.health is not None and up.health.latency_ms is not None
    assert up.health.capabilities is not None
    assert up.health.capabilities.kind is ServerKind.LMSTUDIO
    assert up.kind_label == "LM Studio"
    assert up.models == len(healthy.models)
    assert up.models_loaded == sum(1 for m in healthy.models if m.loaded)

    down = statuses["down"]
    assert down.reachable is False
    assert down.health is not None and "refused" in (down.health.error or "")
    assert down.models is None

    only_v1 = statuses["plain"]
    assert only_v1.reachable is True
    assert only_v1.health is not None and only_v1.health.capabilities is not None
    assert only_v1.health.capabilities.levels == (ApiLevel.OPENAI,)
    assert only_v1.health.capabilities.kind is ServerKind.OTHER
    assert only_v1.kind_label == "other"
    assert only_v1.models == len(plain.models)
    assert only_v1.models_loaded is None  # plain /v1 does not say what is loaded

    assert statuses[LOCAL].health is None and statuses[LOCAL].reachable is None


async def test_probe_counts_models_without_extra_requests() -> None:
    with FakeServer() as srv:
        async with ServerRegistry([prof(DEFAULT, srv.base_url)]) as registry:
            await registry.probe(DEFAULT)
            paths = [r.path for r in srv.requests]
    # Detection's three probes only: the model count came from their answers.
    assert sorted(paths) == sorted(["/api/v1/models", "/api/v0/models", "/v1/models"])


async def test_a_server_that_never_answers_is_down_after_the_timeout(silent_url: str) -> None:
    async with ServerRegistry([prof(DEFAULT, silent_url)]) as registry:
        status = await registry.probe(DEFAULT, timeout=0.3)
    assert status.reachable is False
    assert status.health is not None
    assert "did not answer within 0.3 s" in (status.health.error or "")
    assert registry.last_status(DEFAULT) is status


async def test_switching_keeps_each_servers_detected_capabilities() -> None:
    with FakeServer() as studio, FakeServer(native_v1=False, native_v0=False) as plain:
        registry = ServerRegistry([prof(DEFAULT, studio.base_url), prof("plain", plain.base_url)])
        async with registry:
            first = registry.client()
            caps_studio = await first.detect()
            assert registry.switch("plain").name == "plain"
            second = registry.client()
            caps_plain = await second.detect()
            assert second is not first
            assert caps_studio.kind is ServerKind.LMSTUDIO
            assert caps_plain.levels == (ApiLevel.OPENAI,)

            seen = (len(studio.requests), len(plain.requests))
            registry.switch(DEFAULT)
            assert registry.client() is first
            assert await registry.client().detect() is caps_studio
            registry.switch("plain")
            assert await registry.client().detect() is caps_plain
            # Remembered per client: switching back and forth asked nothing again.
            assert (len(studio.requests), len(plain.requests)) == seen
            assert registry.active.name == "plain"


async def test_unknown_profile_lists_the_names() -> None:
    registry = ServerRegistry([prof(DEFAULT, "http://127.0.0.1:1"), prof("gpu", "http://h:2")])
    with pytest.raises(ConfigError) as info:
        registry.switch("gpuu")
    assert "default, gpu, local" in info.value.remedy
    assert registry.active.name == DEFAULT
    with pytest.raises(ConfigError):
        ServerRegistry([prof(DEFAULT, "http://127.0.0.1:1")], active="nope")
    await registry.close_all()


async def test_embedded_profile_needs_its_url_first() -> None:
    with FakeServer(native_v1=False, native_v0=False) as embedded:
        async with ServerRegistry([prof(DEFAULT, "http://127.0.0.1:1")]) as registry:
            with pytest.raises(ConfigError, match="embedded server is not running"):
                registry.client(LOCAL)
            registry.set_embedded_url(embedded.base_url)
            status = await registry.probe(LOCAL)
            assert registry.profile(LOCAL).embedded
            assert registry.client(LOCAL).base_url == embedded.base_url
    assert status.reachable is True


async def test_token_is_sent_to_its_own_server_only() -> None:
    with FakeServer(token="sekrit") as locked:
        registry = ServerRegistry(
            [prof(DEFAULT, locked.base_url), prof("keyed", locked.base_url, token="sekrit")]
        )
        async with registry:
            without = await registry.probe(DEFAULT)
            with_token = await registry.probe("keyed")
    assert without.reachable is False
    assert without.health is not None and "authentication" in (without.health.error or "")
    assert with_token.reachable is True


async def test_status_json_never_holds_the_token() -> None:
    with FakeServer() as srv:
        p = prof("keyed", srv.base_url, token="tok-123456", token_source="env:MY_TOKEN")
        async with ServerRegistry([prof(DEFAULT, srv.base_url), p]) as registry:
            status = await registry.probe("keyed")
    data = status.to_json(active=True)
    text = json.dumps(data)
    assert "tok-123456" not in text
    assert data["token"] == "set" and data["token_source"] == "env:MY_TOKEN"
    assert data["reachable"] is True and data["active"] is True
    assert data["kind"] == "lmstudio" and data["api_levels"] == ["api/v1", "api/v0", "v1"]


def test_loopback_detection() -> None:
    assert is_loopback_url("http://localhost:1234")
    assert is_loopback_url("http://127.0.0.2:1234")
    assert is_loopback_url("http://[::1]:1234")
    assert not is_loopback_url("http://192.168.1.20:1234")
    assert not is_loopback_url("http://gpu-box:1234")


@pytest.mark.parametrize(
    ("url", "token", "warns"),
    [
        ("http://192.168.1.20:1234", "tok-9f8e7d", True),
        ("http://gpu-box.lan:1234", "tok-9f8e7d", True),
        ("https://gpu-box.lan:1234", "tok-9f8e7d", False),
        ("http://127.0.0.1:11234", "tok-9f8e7d", False),
        ("http://localhost:1234", "tok-9f8e7d", False),
        ("http://192.168.1.20:1234", None, False),
    ],
)
def test_insecure_token_warning_cases(url: str, token: str | None, warns: bool) -> None:
    warning = insecure_token_warning(prof("lan", url, token=token))
    assert (warning is not None) is warns
    if warning:
        assert "'lan'" in warning and "ssh -L" in warning
        assert token is not None and token not in warning


def test_insecure_token_warning_is_given_once_per_profile() -> None:
    lan = prof("lan", "http://192.168.1.20:1234", token="t")
    other = prof("wifi", "http://10.0.0.5:1234", token="t")
    assert insecure_token_warning(lan) is not None
    assert insecure_token_warning(lan) is None
    assert insecure_token_warning(other) is not None
    assert insecure_token_warning(other) is None


async def test_registry_reports_the_warning_when_it_makes_the_client() -> None:
    got: list[str] = []
    lan = prof("lan", "http://192.168.1.20:1234", token="t")
    async with ServerRegistry(
        [prof(DEFAULT, "http://127.0.0.1:1"), lan], on_warning=got.append
    ) as r:
        r.client("lan")
        r.client("lan")
        r.client(DEFAULT)
    async with ServerRegistry([lan], on_warning=got.append) as again:
        again.client("lan")
    assert len(got) == 1 and "'lan'" in got[0]


def test_from_config_puts_the_effective_settings_on_the_active_profile(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[servers.gpu]\nbase_url = "http://127.0.0.1:11234"\nnotes = "box"\n')
    cfg = load_config(path, env={}).with_server("gpu").with_overrides(model="m1")
    registry = ServerRegistry.from_config(cfg)
    assert registry.names == [DEFAULT, "gpu", LOCAL]
    assert registry.active.name == "gpu"
    assert registry.active.model == "m1" and registry.active.notes == "box"
    assert profile_of(cfg).base_url == "http://127.0.0.1:11234"

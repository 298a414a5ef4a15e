"""The servers lmtui knows: one client per profile, health probes, the active one.

:class:`ServerRegistry` is shared by the CLI (``lmtui servers``) and the app's server
switcher. It creates one :class:`LMStudioClient` per profile on first use and keeps
it, so what a server offers (its API levels) is detected once per session and
remembered per server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from lmtui.backend.client import ExchangeHook, LMStudioClient
from lmtui.backend.errors import AuthRequired, ConfigError, LmtuiError
from lmtui.backend.types import Health, ServerKind
from lmtui.services.clients import client_for
from lmtui.store.config import Config
from lmtui.store.profiles import LOCAL, ServerProfile

PROBE_TIMEOUT_S = 1.5
KIND_LABELS = {
    ServerKind.LMSTUDIO: "LM Studio",
    ServerKind.LLAMACPP: "llama.cpp",
    ServerKind.OTHER: "other",
}

_warned: set[str] = set()
_warned_lock = threading.Lock()


def is_loopback_url(url: str) -> bool:
    """True when ``url`` points at this machine (localhost, 127.0.0.0/8, ::1)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_is_exposed(profile: ServerProfile) -> bool:
    """True when the profile would send its token unencrypted over the network."""
    if not profile.token or profile.embedded:
        return False
    return urlsplit(profile.base_url).scheme == "http" and not is_loopback_url(profile.base_url)


def insecure_token_warning(profile: ServerProfile) -> str | None:
    """A warning the first time a profile would send its token over plain http.

    Only for non-loopback hosts (an SSH tunnel to ``127.0.0.1`` is fine), and only
    once per profile per process: later calls for the same profile return None.
    """
    if not token_is_exposed(profile):
        return None
    with _warned_lock:
        if profile.name in _warned:
            return None
        _warned.add(profile.name)
    host = urlsplit(profile.base_url).netloc
    return (
        f"server '{profile.name}' sends its API token unencrypted over plain http to {host}; "
        "anyone on that network can read it. Use an SSH tunnel "
        '(ssh -L 1234:localhost:1234 HOST, then base_url = "http://127.0.0.1:1234") '
        "or an https:// URL."
    )


def profile_of(cfg: Config) -> ServerProfile:
    """The profile the effective settings of ``cfg`` amount to (flags included)."""
    named = cfg.profiles().get(cfg.server)
    return ServerProfile(
        name=cfg.server,
        base_url=cfg.base_url,
        token=cfg.api_token,
        token_source=cfg.token_source,
        token_env=named.token_env if named else None,
        connect_timeout=cfg.connect_timeout,
        read_timeout=cfg.read_timeout,
        model=cfg.model,
        preset=cfg.preset,
        notes=named.notes if named else "",
        embedded=named.embedded if named else False,
    )


def token_remedy(profile: ServerProfile) -> str:
    """How to give ``profile`` the API token its server asks for."""
    where = "LM Studio → Developer → Server Settings → Manage Tokens"
    if profile.token_problem:
        return f"Set {profile.token_env}: {profile.token_problem} (tokens come from {where})."
    if profile.token:
        return (
            f"The server refused the token from {profile.token_source or 'the config'}: "
            f"make a new one in {where} and put it there."
        )
    section = f"[servers.{profile.name}]" if profile.name != "default" else "config.toml"
    return (
        "Export LMTUI_API_TOKEN (or LM_API_TOKEN) with a token from "
        f'{where}, or name the variable that holds it with token_env = "VAR" in {section}.'
    )


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """What the last probe of one profile found."""

    profile: ServerProfile
    health: Health | None  # None: not probed (the embedded server is not running)
    models: int | None = None
    models_loaded: int | None = None  # None: the server does not say which are loaded
    checked_at: float | None = None  # time.time() of the probe

    @property
    def reachable(self) -> bool | None:
        """True or False once probed; None when it could not be probed."""
        return None if self.health is None else self.health.reachable

    @property
    def needs_token(self) -> bool:
        """True when the server answered but refused lmtui for want of a (valid) token."""
        return self.health is not None and self.health.error_kind == AuthRequired.kind

    @property
    def state(self) -> str:
        """``up``, ``needs_token``, ``down`` or ``not_running`` (embedded server not started)."""
        if self.health is None:
            return "not_running"
        if self.health.reachable:
            return "up"
        return "needs_token" if self.needs_token else "down"

    @property
    def kind_label(self) -> str | None:
        """ "LM Studio", "llama.cpp" or "other"; None when unknown."""
        caps = self.health.capabilities if self.health else None
        return KIND_LABELS[caps.kind] if caps else None

    def to_json(self, *, active: bool = False) -> dict[str, object]:
        """A JSON-ready summary. The token itself never appears: only whether it is set."""
        p = self.profile
        caps = self.health.capabilities if self.health else None
        return {
            "name": p.name,
            "active": active,
            "base_url": p.base_url or None,
            "embedded": p.embedded,
            "reachable": self.reachable,
            "state": self.state,
            "needs_token": self.needs_token,
            "latency_ms": round(self.health.latency_ms, 1)
            if self.health and self.health.latency_ms is not None
            else None,
            "kind": caps.kind.value if caps else None,
            "kind_label": self.kind_label,
            "api_levels": [lv.value for lv in caps.levels] if caps else [],
            "models": self.models,
            "models_loaded": self.models_loaded,
            "error": self.health.error if self.health else None,
            "remedy": (token_remedy(p) if self.needs_token else self.health.remedy)
            if self.health
            else None,
            "token": "set" if p.token else None,
            "token_source": p.token_source,
            "token_problem": p.token_problem,
            "insecure_token": token_is_exposed(p),
            "model": p.model,
            "preset": p.preset,
            "connect_timeout": p.connect_timeout,
            "read_timeout": p.read_timeout,
            "notes": p.notes,
        }


WarningHook = Callable[[str], None]


class ServerRegistry:
    """Every profile, one client each (made on demand), and which one is active.

    Not thread-safe: use it from one event loop. Call :meth:`close_all` when done.
    """

    def __init__(
        self,
        profiles: Iterable[ServerProfile],
        *,
        active: str | None = None,
        on_exchange: ExchangeHook | None = None,
        on_warning: WarningHook | None = None,
    ) -> None:
        self._profiles: dict[str, ServerProfile] = {p.name: p for p in profiles}
        if LOCAL not in self._profiles:
            self._profiles[LOCAL] = ServerProfile(name=LOCAL, base_url="", embedded=True)
        self._clients: dict[str, LMStudioClient] = {}
        self._closing: list[LMStudioClient] = []
        self._status: dict[str, ServerStatus] = {}
        # Without a name: the first profile (``default`` for a registry made from config).
        self._active = self.profile(active).name if active else next(iter(self._profiles))
        self.on_exchange = on_exchange
        self.on_warning = on_warning

    @classmethod
    def from_config(
        cls,
        cfg: Config,
        *,
        on_exchange: ExchangeHook | None = None,
        on_warning: WarningHook | None = None,
    ) -> ServerRegistry:
        """A registry of ``cfg``'s profiles; the active one carries the effective settings.

        So ``--base-url`` and the other flags show up on the active profile, as every
        command would use them.
        """
        profiles = cfg.profiles()
        active = profile_of(cfg)
        if not active.embedded:
            profiles[active.name] = active
        return cls(
            profiles.values(), active=cfg.server, on_exchange=on_exchange, on_warning=on_warning
        )

    # ---- profiles ----------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """Profile names, in config order (``default`` first, ``local`` last)."""
        return list(self._profiles)

    @property
    def profiles(self) -> list[ServerProfile]:
        """Every profile, in config order."""
        return list(self._profiles.values())

    def profile(self, name: str) -> ServerProfile:
        """The profile called ``name``; :class:`ConfigError` listing the names if none is."""
        found = self._profiles.get(name)
        if found is None:
            raise ConfigError(
                f"No server profile named '{name}'.",
                f"Profiles: {', '.join(self._profiles)}. Add [servers.{name}] to config.toml.",
            )
        return found

    @property
    def active(self) -> ServerProfile:
        """The profile in use."""
        return self._profiles[self._active]

    def switch(self, name: str) -> ServerProfile:
        """Make ``name`` the active profile (its client and cached capabilities are kept)."""
        self._active = self.profile(name).name
        return self.active

    def set_embedded_url(self, base_url: str) -> None:
        """Record where the embedded server listens once it has started.

        Until then the ``local`` profile has no URL and :meth:`client` refuses it.
        """
        current = self._profiles[LOCAL]
        if current.base_url == base_url:
            return
        self._profiles[LOCAL] = replace(current, base_url=base_url)
        stale = self._clients.pop(LOCAL, None)
        self._status.pop(LOCAL, None)
        if stale is not None:
            # Someone may still hold it mid-request; close_all() closes it later.
            self._closing.append(stale)

    # ---- clients ----------------------------------------------------------------------

    def client(self, name: str | None = None) -> LMStudioClient:
        """The client of profile ``name`` (default: the active one), made on first use."""
        profile = self.profile(name) if name else self.active
        existing = self._clients.get(profile.name)
        if existing is not None:
            return existing
        if profile.embedded and not profile.base_url:
            raise ConfigError(
                "The embedded server is not running.",
                "Start it with --local (or --server local), or `lmtui local` in another terminal.",
            )
        warning = insecure_token_warning(profile)
        if warning and self.on_warning is not None:
            self.on_warning(warning)
        made = client_for(profile, on_exchange=self.on_exchange)
        self._clients[profile.name] = made
        return made

    async def close_all(self) -> None:
        """Close every client made so far."""
        clients = [*self._clients.values(), *self._closing]
        self._clients.clear()
        self._closing.clear()
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)

    async def __aenter__(self) -> ServerRegistry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close_all()

    # ---- health -----------------------------------------------------------------------

    def last_status(self, name: str) -> ServerStatus | None:
        """What the last probe of ``name`` found, if it was probed."""
        return self._status.get(name)

    async def probe(self, name: str, *, timeout: float = PROBE_TIMEOUT_S) -> ServerStatus:
        """Probe one profile (reachability, latency, kind, API levels, model counts).

        Never raises for a server that is down: the status says what went wrong. The
        whole probe is bounded by ``timeout`` seconds.
        """
        profile = self.profile(name)
        if profile.embedded and not profile.base_url:
            status = ServerStatus(profile, None, checked_at=time.time())
            self._status[profile.name] = status
            return status
        client = self.client(profile.name)
        try:
            health = await asyncio.wait_for(client.health(), timeout)
        except TimeoutError:
            health = Health(
                client.base_url,
                False,
                None,
                None,
                f"{client.base_url} did not answer within {timeout:g} s.",
                "Check the server is running and the host and port are right "
                "(for a tunnel: is `ssh -L` still up?).",
            )
        models: int | None = None
        loaded: int | None = None
        if health.reachable:
            try:
                # From what detection already fetched: no new request.
                found = await client.list_models(refresh=False)
            except LmtuiError:
                found = None
            if found is not None:
                models = len(found)
                states = [m.loaded for m in found]
                if states and all(s is not None for s in states):
                    loaded = sum(1 for s in states if s)
        status = ServerStatus(profile, health, models, loaded, time.time())
        self._status[profile.name] = status
        return status

    async def probe_all(self, *, timeout: float = PROBE_TIMEOUT_S) -> list[ServerStatus]:
        """Probe every profile at once; statuses in profile order."""
        return list(
            await asyncio.gather(*(self.probe(name, timeout=timeout) for name in self.names))
        )

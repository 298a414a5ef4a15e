"""Deciding which server the app talks to, then running it.

``--local`` starts the embedded llama.cpp server. Otherwise the configured
server is used when it answers. When it does not and the user named no server
(no ``--base-url`` or ``--server``, no ``LMTUI_BASE_URL`` or ``LMTUI_SERVER``, no
``base_url`` in the config), the embedded server starts instead and the status
line says so. A named server that does not answer is shown as unreachable, with
the remedy.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lmtui.backend.errors import START_SERVER, LmtuiError
from lmtui.backend.urls import DEFAULT_BASE_URL
from lmtui.store.config import Config

if TYPE_CHECKING:
    from lmtui.ui.app import LmtuiApp


@dataclass(frozen=True, slots=True)
class LaunchPlan:
    """What the app starts with."""

    cfg: Config
    note: str = ""
    unreachable: tuple[str, str] | None = None
    embedded_url: str | None = None  # set when the embedded server was started


def server_was_named(args: argparse.Namespace, cfg: Config) -> bool:
    """True when the user said where the server is (flag, environment or config file)."""
    if getattr(args, "base_url", None) or getattr(args, "server", None):
        return True
    if cfg.server != "default":  # a profile chosen through LMTUI_SERVER
        return True
    if os.environ.get("LMTUI_BASE_URL"):
        return True
    return cfg.base_url != DEFAULT_BASE_URL


def _start_local(args: argparse.Namespace, cfg: Config, stack: ExitStack) -> Config:
    from lmtui.services.local_server import LocalServer, choose_model

    choice = choose_model(getattr(args, "gguf", None), cfg.local.gguf)
    print(f"lmtui: starting the embedded llama.cpp server ({choice.path.name})…", file=sys.stderr)
    server = stack.enter_context(
        LocalServer.start(choice.path, context_length=cfg.local.context_length)
    )
    model = cfg.model if getattr(args, "model", None) else server.model_id
    return cfg.with_overrides(base_url=server.base_url, model=model)


class ServerProbe:
    """Whether the configured server answers, asked in a thread while the app's modules load.

    The probe mostly waits on the network (a remote server's round trip, or the whole
    0.5 s timeout when it is down) and the imports mostly on the CPU, so doing both at
    once makes a slow or absent server cost the start less.
    """

    def __init__(self, base_url: str, timeout: float = 0.5) -> None:
        """Start asking ``base_url`` (``GET /v1/models``, ``timeout`` seconds at most)."""
        import threading

        # Imported here, before the thread: two threads importing httpx's package at once
        # could meet in a circular import; the thread then only does the request.
        from lmtui.services.local_server import server_answers

        self._answer = False

        def ask() -> None:
            self._answer = server_answers(base_url, timeout=timeout)

        self._thread = threading.Thread(target=ask, name="lmtui-server-probe", daemon=True)
        self._thread.start()

    def answers(self) -> bool:
        """True when the server answered (waits for the probe to end)."""
        self._thread.join()
        return self._answer


def start_probe(args: argparse.Namespace, cfg: Config) -> ServerProbe | None:
    """The probe :func:`plan_launch` needs, started now; None with ``--local`` (no probe)."""
    return None if getattr(args, "local", False) else ServerProbe(cfg.base_url)


def plan_launch(
    args: argparse.Namespace, cfg: Config, stack: ExitStack, probe: ServerProbe | None = None
) -> LaunchPlan:
    """Pick the server (starting the embedded one if needed); ``stack`` stops it on exit.

    ``probe`` is the question already asked (:func:`start_probe`); else it is asked here.
    """
    if getattr(args, "local", False):
        local_cfg = _start_local(args, cfg, stack)
        return LaunchPlan(
            local_cfg, note="embedded llama.cpp server", embedded_url=local_cfg.base_url
        )
    if (probe or ServerProbe(cfg.base_url)).answers():
        return LaunchPlan(cfg)
    message = f"Cannot reach the server at {cfg.base_url}."
    if server_was_named(args, cfg):
        return LaunchPlan(cfg, unreachable=(message, START_SERVER))
    try:
        local_cfg = _start_local(args, cfg, stack)
    except LmtuiError as exc:
        return LaunchPlan(
            cfg, unreachable=(f"{message} The embedded server did not start: {exc}", exc.remedy)
        )
    note = f"LM Studio not found at {cfg.base_url}; using the embedded llama.cpp server (SmolLM2)"
    return LaunchPlan(local_cfg, note=note, embedded_url=local_cfg.base_url)


def build_app(args: argparse.Namespace, cfg: Config, plan: LaunchPlan) -> LmtuiApp:
    """The app for ``plan`` (``cfg`` is the config before any embedded-server rewrite)."""
    from lmtui.ui.app import LmtuiApp

    return LmtuiApp(
        plan.cfg,
        note=plan.note,
        unreachable=plan.unreachable,
        conversation_id=getattr(args, "open", None),
        servers_cfg=cfg,
        embedded_url=plan.embedded_url,
        start_new=bool(getattr(args, "new", False)),
    )


def launch(args: argparse.Namespace, cfg: Config) -> int:
    """Run the terminal app until the user quits; return the exit code."""
    with ExitStack() as stack:
        probe = start_probe(args, cfg)
        import lmtui.ui.app  # noqa: F401  (loads while the probe waits on the network)

        plan = plan_launch(args, cfg, stack, probe)
        app = build_app(args, cfg, plan)
        from lmtui.ui.signals import stop_on_hangup

        stop_on_hangup(app)  # SIGTERM/SIGHUP: save and restore the terminal
        # The modules, classes and app built so far live as long as the app: frozen, the
        # collector never scans them again. Collection (paused by run_tui, so the build
        # was not slowed by it) resumes for what the app makes. Turned on again at the
        # first frame instead, the first collection had to scan all of them: 125 ms
        # before anything showed (load 2.5); what freezing keeps is ~2,000 objects of
        # import-time garbage.
        gc.freeze()
        gc.enable()
        result = app.run(mouse=plan.cfg.mouse)
    if app.unsaved_on_exit:  # never silently: the terminal is back, say it there
        print(f"lmtui: {app.unsaved_on_exit}", file=sys.stderr)
    return int(result or 0)

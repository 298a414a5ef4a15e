"""``lmtui ask``: one prompt, the reply streamed to stdout.

Kept lean on purpose: it imports only the backend and the chat service, so a
shell pipeline pays for little more than the HTTP client.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from lmtui.cli import structured
from lmtui.cli.common import (
    SUPPRESS,
    add_subcommand,
    checked_params,
    load_effective_config,
    local_server_if_asked,
    read_stdin_text,
)
from lmtui.cli.output import print_json, warn


def register(sub: Any) -> None:
    """Add ``ask`` to the subcommands."""
    p = add_subcommand(
        sub,
        "ask",
        "ask one question and stream the reply to stdout",
        description="Ask one question; the reply streams to stdout. Piped stdin is prepended to "
        "PROMPT (e.g. `git diff | lmtui ask 'review this'`).",
    )
    p.add_argument("prompt", nargs="*", help="the prompt (read from stdin when piped)")
    p.add_argument("--system", help="system prompt (overrides the preset's)")
    p.add_argument("--preset", default=SUPPRESS, help="preset to use (see `lmtui presets list`)")
    p.add_argument("--temperature", "-t", type=float, help="sampling temperature (0-2)")
    p.add_argument("--max-tokens", "-n", type=int, help="most tokens to generate (-1 = no limit)")
    p.add_argument("--top-p", type=float, help="nucleus sampling (0-1)")
    p.add_argument("--top-k", type=int, help="top-k sampling")
    p.add_argument("--seed", type=int, help="random seed, for reproducible replies")
    p.add_argument("--stop", action="append", help="stop sequence (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of streaming")
    p.add_argument(
        "-v", "--verbose", action="store_true", help="finish reason, usage, speed to stderr"
    )
    p.add_argument("--reasoning", action="store_true", help="show the model's reasoning on stderr")
    p.add_argument(
        "--think",
        choices=("off", "low", "medium", "high", "on"),
        help="reasoning setting, as the model allows (LM Studio 0.4; low/medium/high also "
        "as reasoning_effort on its OpenAI-compatible path)",
    )
    p.add_argument(
        "--native",
        choices=("auto", "on", "off"),
        help="use LM Studio's /api/v1/chat (default: native_chat from the config, auto)",
    )
    p.add_argument(
        "--integration",
        action="append",
        metavar="NAME",
        help="enable an LM Studio integration from the config's [integrations.NAME] (repeatable)",
    )
    p.add_argument("--raw", action="store_true", help="do not neutralise control sequences")
    p.add_argument("--no-save", action="store_true", help="do not record this exchange in history")
    p.add_argument("--local", action="store_true", default=SUPPRESS, help="use the embedded server")
    p.add_argument("--gguf", default=SUPPRESS, help="with --local: the GGUF file to serve")
    structured.add_arguments(p)
    p.set_defaults(handler=run)


def read_prompt(args: argparse.Namespace) -> str:
    """PROMPT words, with piped stdin in front of them."""
    parts: list[str] = []
    if not sys.stdin.isatty():
        piped = read_stdin_text()
        if piped.strip():
            parts.append(piped.rstrip("\n"))
    if args.prompt:
        parts.append(" ".join(args.prompt))
    return "\n\n".join(parts)


def run(args: argparse.Namespace) -> int:
    """Handle ``lmtui ask``.

    The reply streams on the synchronous client (no asyncio: a bare httpx-sse
    consumer's cost plus little); with ``--image`` it takes the async client, whose
    vision check is async.
    """
    import gc

    # Most of ask's modules load below: no collection walks them while they do (as the
    # TUI starts); _frozen_from_here() turns collection back on once they are loaded.
    gc.disable()
    try:
        return _run(args)
    finally:
        gc.enable()


def _frozen_from_here() -> None:
    """The reply is about to stream: keep what exists now out of every collection.

    The modules, classes and the session live until the process ends; frozen
    (``gc.freeze``), the collections a long reply triggers walk only what it made.
    """
    import gc

    gc.freeze()
    gc.enable()


def _run(args: argparse.Namespace) -> int:
    from lmtui.backend.errors import LmtuiError

    prompt = read_prompt(args)
    if not prompt.strip():
        raise LmtuiError(
            "Nothing to ask: give a prompt or pipe one in.", 'Example: lmtui ask "Say hello"'
        )
    _overrides(args)  # -t nan or --top-p 5 fails here, before any connection
    cfg = load_effective_config(args)
    with local_server_if_asked(args, cfg) as cfg:
        if args.image:
            import asyncio

            return asyncio.run(_ask(args, cfg, prompt))
        return _ask_sync(args, cfg, prompt)


def _ask_sync(args: argparse.Namespace, cfg: Any, prompt: str) -> int:
    """``lmtui ask`` on the synchronous client (see :mod:`lmtui.services.chat_sync`)."""
    from lmtui.backend.errors import LmtuiError
    from lmtui.services.chat_sync import SyncChatSession, sync_client_for
    from lmtui.services.setup import choose_chat_setup_sync

    with sync_client_for(cfg) as client:
        setup = choose_chat_setup_sync(client, cfg, **_setup_args(args, cfg))
        turn = _Turn(args, setup, client.base_url, idle_timer=False)
        turn.open_history(cfg)
        session = SyncChatSession(client, **turn.session_args(args, setup))
        turn.configure(session, args, cfg, setup)
        client.waiting.append(turn.paced.flush)  # no text waits in a buffer on the network
        _frozen_from_here()
        try:
            for event in session.send_sync(prompt):
                turn.show(event)
        except LmtuiError:
            turn.end_line(session)
            raise
        finally:
            turn.close()
        return turn.conclude(session)


async def _ask(args: argparse.Namespace, cfg: Any, prompt: str) -> int:
    """``lmtui ask`` on the async client (used with ``--image``)."""
    from lmtui.services.chat import ChatSession
    from lmtui.services.clients import client_for
    from lmtui.services.setup import choose_chat_setup

    async with client_for(cfg) as client:
        from lmtui.cli.structured import check_vision, read_images

        images = read_images(args)
        setup = await choose_chat_setup(client, cfg, **_setup_args(args, cfg))
        turn = _Turn(args, setup, client.base_url, idle_timer=True)
        await check_vision(client, setup.model)
        turn.open_history(cfg)
        session = ChatSession(client, **turn.session_args(args, setup))
        turn.configure(session, args, cfg, setup)
        _frozen_from_here()
        try:
            # aclosing: when stdout fails mid-reply (`| head -c 100`, a full disk) the
            # generators close here, innermost last, not at loop shutdown in any order.
            events = _ended_line(session.send(prompt, images), session, turn)
            async with contextlib.aclosing(events):
                async for event in events:
                    turn.show(event)
        finally:
            turn.close()
        return turn.conclude(session)


def _setup_args(args: argparse.Namespace, cfg: Any) -> dict[str, Any]:
    return {
        "cli_overrides": _overrides(args),
        "explicit_model": getattr(args, "model", None),
        "default_max_tokens": cfg.local.max_tokens if getattr(args, "local", False) else None,
    }


class _Turn:
    """What ``ask`` does around the stream, on either client: set-up notes, the
    history store, the display of each event, and the ending (exit code, notes, JSON).
    """

    def __init__(
        self, args: argparse.Namespace, setup: Any, server: str, *, idle_timer: bool
    ) -> None:
        from lmtui.backend.types import ContentDelta, Finish, ReasoningDelta
        from lmtui.cli.ask_progress import AskDisplay
        from lmtui.cli.paced_output import PacedWriter
        from lmtui.store.schema_files import schema_of

        # Kept for show(), called once per delta: no import statement on that path.
        self._kinds = (ContentDelta, ReasoningDelta, Finish)

        self.args = args
        self.server = server
        self.out = out = sys.stdout
        self.err = sys.stderr
        self.inert: Any = None
        if not args.raw and out.isatty():
            from lmtui.services.terminal_text import make_inert

            self.inert = make_inert
        if setup.note and (args.verbose or setup.fallback):
            warn(f"lmtui: {setup.note}")
        note = structured.tools_note(setup.preset_name)
        if note:
            warn(f"lmtui: note: {note}")
        self.schema = schema_of(setup.params.response_format)
        # A schema reply is printed once, checked.
        self.quiet = args.json or self.schema is not None
        self.display = AskDisplay(self.err, show_reasoning=args.reasoning and not args.json)
        self.paced = PacedWriter(out, idle_timer=idle_timer)
        self.finish: Any = None
        self.history: Any = None

    def open_history(self, cfg: Any) -> None:
        """Open the history store unless ``--no-save`` or the config says not to save."""
        if not self.args.no_save and cfg.save_history:
            from lmtui.services.setup import open_history

            history, problem = open_history()
            if problem:
                warn(f"lmtui: {problem}")
            if history is not None and history.read_only:
                history.close()  # said once above; every write would fail the same way
                history = None
            self.history = history

    def session_args(self, args: argparse.Namespace, setup: Any) -> dict[str, Any]:
        """Keyword arguments for the chat session."""
        return {
            "model": setup.model,
            "system_prompt": args.system if args.system is not None else setup.system_prompt,
            "params": setup.params,
            "preset": setup.preset_name,
            "history": self.history,
            "server_label": self.server,  # never the URL's credentials
        }

    def configure(self, session: Any, args: argparse.Namespace, cfg: Any, setup: Any) -> None:
        """The route, reasoning and integrations of the session's turn."""
        from lmtui.services.setup import resolve_integrations

        session.watch_repetition = False  # ask neither shows nor acts on a looping reply
        session.native_mode = args.native or cfg.native_chat
        session.reasoning = args.think or setup.reasoning
        session.integrations = setup.integrations + resolve_integrations(
            cfg, tuple(args.integration or ())
        )

    def show(self, event: Any) -> None:
        """Show one event of the reply: text on stdout, reasoning and progress on stderr."""
        content, reasoning, finish = self._kinds
        if isinstance(event, content):
            if not self.quiet:
                if self.display.busy:
                    self.display.before_answer()
                self.paced.write(self.inert(event.text) if self.inert else event.text)
        elif isinstance(event, reasoning):
            if not self.quiet:
                self.paced.flush()  # keep the two streams in order on one terminal
                self.display.reasoning(event.text)
        elif isinstance(event, finish):
            self.finish = event
        else:
            self.display.progress(event)

    def end_line(self, session: Any) -> None:
        """An error cut the reply: end its last line first, so the error is not glued to it."""
        text = session.entries[-1].content if session.entries else ""
        if text and not text.endswith("\n") and not self.args.json:
            self.paced.flush()
            self.out.write("\n")
            self.out.flush()

    def close(self) -> None:
        """The stream is over: flush the text, clear the progress line, close history."""
        self.paced.flush()
        self.display.end()
        if self.history is not None:
            self.history.close()

    def conclude(self, session: Any) -> int:
        """Print what follows the reply (JSON, notes, figures); return the exit code."""
        from lmtui.backend.errors import AnswerOnlyInReasoning, StreamInterrupted
        from lmtui.backend.types import FinishReason
        from lmtui.services.reply_extras import JSON_IN_REASONING, ONLY_REASONING

        args, out, err, inert = self.args, self.out, self.err, self.inert
        schema, finish = self.schema, self.finish
        entry = session.entries[-1]
        only_reasoning = entry.answer_note == ONLY_REASONING
        if entry.answer_note == JSON_IN_REASONING and not args.json and schema is None:
            # The session took the JSON answer out of the reasoning: it was never streamed.
            # (With a schema, finish_structured below prints the checked JSON once.)
            out.write(inert(entry.content) if inert else entry.content)
        if session.history_error:
            warn(f"lmtui: {session.history_error}")
        schema_code = 0
        checked: dict[str, Any] | None = None
        if schema is not None and finish is not None:
            from lmtui.cli.structured import finish_structured

            schema_code, checked = finish_structured(
                entry, schema, json_output=args.json, out=out, err=err
            )
        if args.json:
            data = _entry_json(entry) | ({"schema": checked} if checked is not None else {})
            print_json(data)
        elif schema is None and entry.content and not entry.content.endswith("\n"):
            out.write("\n")
            out.flush()
        if args.verbose:
            _report(entry, err)
        if finish is not None and finish.reason is FinishReason.INTERRUPTED:
            exc = StreamInterrupted(f"Interrupted: {finish.detail or 'the reply was cut off'}.")
            warn(f"lmtui: {exc.message}")
            warn(f"  remedy: {exc.remedy}")
            return exc.exit_code
        if only_reasoning and finish is not None:
            exc2 = AnswerOnlyInReasoning(f"The {entry.answer_note}.")
            warn(f"lmtui: {exc2.message}")
            warn(f"  remedy: {exc2.remedy}")
            return exc2.exit_code
        if entry.answer_note and not args.json and schema is None:
            warn(f"lmtui: {entry.answer_note}.")  # with a schema, the check's note says it
        if finish is not None and finish.reason is FinishReason.LENGTH and not args.json:
            warn(
                "lmtui: the reply was cut at the max_tokens limit (finish reason: length); "
                "raise --max-tokens for more."
            )
        return schema_code


async def _ended_line(events: Any, session: Any, turn: _Turn) -> Any:
    """Pass ``events`` on; if an error cuts the reply, end its last line first.

    The error is printed on stderr, often the same terminal: it must not be glued to
    the partial text.
    """
    from lmtui.backend.errors import LmtuiError

    try:
        async with contextlib.aclosing(events):
            async for event in events:
                yield event
    except LmtuiError:
        turn.end_line(session)
        raise


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    values = {
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "top_p": args.top_p,
        "top_k": args.top_k,
        "seed": args.seed,
        "stop": tuple(args.stop) if args.stop else None,
    }
    if getattr(args, "schema", None):
        from lmtui.cli.structured import schema_overrides

        values.update(schema_overrides(args))
    given = {k: v for k, v in values.items() if v is not None}
    checked_params(given)
    return given


def _entry_json(entry: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "model": entry.model_used or entry.model_requested,
        "model_requested": entry.model_requested,
        "content": entry.content,
        "reasoning": entry.reasoning,
        "finish_reason": entry.finish_reason.value if entry.finish_reason else None,
        "usage": asdict(entry.usage) if entry.usage else None,
        "timings": entry.timings_json(),
        "state": entry.state,
        "route": entry.extras.route,
        "response_id": entry.extras.response_id,
        "tool_calls": [c.to_json() for c in entry.extras.tool_calls],
        "server_stats": asdict(entry.extras.server_stats) if entry.extras.server_stats else None,
        "load_seconds": entry.extras.load_seconds,
        "prompt_seconds": entry.extras.prompt_seconds,
        "note": entry.answer_note,
    }


def _report(entry: Any, err: Any) -> None:
    from lmtui.services.explain import explain_finish
    from lmtui.services.live_stats import reply_figures

    # The same figures as the TUI's footer under a reply.
    measured = reply_figures(entry.usage, entry.client_timings, entry.server_timings)
    parts = [f"model: {entry.model_used or entry.model_requested}"]
    if entry.finish_reason:
        parts.append(f"finish: {entry.finish_reason.value} ({explain_finish(entry.finish_reason)})")
    if entry.usage:
        u = entry.usage
        parts.append(f"tokens: {u.prompt_tokens} in, {u.completion_tokens} out")
    elif measured.tokens:
        parts.append(f"tokens: {measured.tokens} out (counted by lmtui)")
    if measured.first_token_s is not None:
        parts.append(f"first token: {measured.first_token_s * 1000:.0f} ms")
    if measured.tokens_per_second:
        parts.append(f"speed: {measured.tokens_per_second:.1f} tok/s")
    if measured.total_s is not None:
        parts.append(f"total: {measured.total_s:.2f} s")
    extras = entry.extras
    if extras.route:
        parts.append(f"path: {extras.route}")
    if extras.load_seconds is not None:
        parts.append(f"model load: {extras.load_seconds:.1f} s")
    if extras.server_stats is not None:
        from lmtui.services.reply_extras import stats_figures

        figures = ", ".join(f"{k} {v}" for k, v in stats_figures(extras.server_stats))
        parts.append(f"LM Studio: {figures}")
    warn("lmtui: " + " · ".join(parts))

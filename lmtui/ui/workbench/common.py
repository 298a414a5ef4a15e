"""Pieces the workbench screens share: streamed text, model choice, parameters, status."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select, TextArea

from lmtui.backend.params import param_spec, validate_param
from lmtui.backend.types import PARAMETER_NAMES, ChatResult, Model, SamplingParams
from lmtui.services.explain import explain_finish
from lmtui.services.terminal_text import make_inert

FRAME_SECONDS = 1 / 30


class OpenConversation(Message):
    """Ask the app to open a conversation from the history (posted by the workbench)."""

    def __init__(self, conversation_id: int) -> None:
        super().__init__()
        self.conversation_id = conversation_id


class StreamText(TextArea):
    """Read-only, wrapped text that grows as a reply streams.

    Deltas are only buffered by :meth:`add`; :meth:`flush`, called once per frame,
    appends them in one edit at the end of the document, so the cost per frame
    does not grow with the token rate or with the text already shown.
    """

    DEFAULT_CSS = """
    StreamText { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            "",
            read_only=True,
            soft_wrap=True,
            show_line_numbers=False,
            id=id,
            classes=classes,
        )
        self._pending: list[str] = []

    def add(self, text: str) -> None:
        """Queue text to show at the next frame."""
        if text:
            self._pending.append(text)

    @property
    def pending(self) -> bool:
        """True when text is waiting to be drawn."""
        return bool(self._pending)

    def flush(self) -> bool:
        """Append what arrived since the last frame; False when there was nothing."""
        if not self._pending:
            return False
        text = make_inert("".join(self._pending))
        self._pending.clear()
        following = self.scroll_y >= self.max_scroll_y
        self.insert(text, self.document.end)
        if following:
            self.scroll_end(animate=False, immediate=False)
        return True

    def reset(self, text: str = "") -> None:
        """Replace everything shown (and drop anything buffered)."""
        self._pending.clear()
        self.load_text(make_inert(text))


def model_options(models: Sequence[Model]) -> list[tuple[Text, str]]:
    """``Select`` options for ``models``: loaded ones marked (ids are never read as markup)."""
    options = []
    for model in models:
        mark = " ●" if model.loaded else ""
        kind = " (embedding)" if model.is_embedding else ""
        options.append((Text(f"{model.id}{kind}{mark}"), model.id))
    return options


def pick_default(models: Sequence[Model], default: str | None) -> str | None:
    """``default`` when the server lists it (or lists nothing), else the first loaded model."""
    ids = [m.id for m in models]
    if default and (default in ids or not ids):
        return default
    loaded = [m.id for m in models if m.loaded]
    if loaded:
        return loaded[0]
    return ids[0] if ids else default


def model_select(
    models: Sequence[Model], default: str | None, *, id: str, prompt: str = "Model"
) -> Select[str]:
    """A model picker; an id the server does not list is still offered."""
    options = model_options(models)
    chosen = pick_default(models, default)
    if chosen is not None and chosen not in {m.id for m in models}:
        options.insert(0, (Text(f"{chosen} (not listed)"), chosen))
    return Select(
        options,
        value=chosen if chosen is not None else Select.NULL,
        prompt=prompt,
        allow_blank=chosen is None,
        id=id,
    )


def selected(select: Select[str]) -> str | None:
    """The value of a ``Select``, or None when nothing is chosen."""
    value = select.value
    return value if isinstance(value, str) else None


# The parameters a playground offers, in the order shown: all but the JIT ``ttl`` and
# ``response_format``, which belong to chat.
PLAYGROUND_PARAMS: tuple[str, ...] = tuple(
    name for name in PARAMETER_NAMES if name not in ("ttl", "response_format")
)


def parse_stop(text: str) -> str | tuple[str, ...] | None:
    """Stop sequences as typed: a JSON string or list, else the text with ``\\n`` escapes."""
    raw = text.strip()
    if not raw:
        return None
    if raw[0] in '["':
        try:
            value: Any = json.loads(raw)
        except ValueError:
            raise ValueError('stop: not valid JSON (try ["\\n\\n", "###"])') from None
        result: str | tuple[str, ...] = validate_param("stop", value)
        return result
    return str(validate_param("stop", raw.replace("\\n", "\n").replace("\\t", "\t")))


class ParamsForm(VerticalScroll):
    """One input per sampling parameter; blank means "the server's default"."""

    DEFAULT_CSS = """
    ParamsForm { width: 34; border-left: solid $panel-lighten-2; padding: 0 1; }
    ParamsForm Label { color: $text-muted; }
    ParamsForm Input { background: $boost; margin-bottom: 1; }
    ParamsForm Input { width: 100%; }
    """

    def __init__(
        self,
        names: Sequence[str] = PLAYGROUND_PARAMS,
        *,
        initial: SamplingParams | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.names = tuple(names)
        self.initial = initial or SamplingParams()

    def compose(self) -> ComposeResult:
        """A label and an input per parameter."""
        for name in self.names:
            spec = param_spec(name)
            yield Label(f"{name} ({spec.default_text})")
            value = getattr(self.initial, name)
            text = "" if value is None else _as_text(value)
            yield Input(
                text,
                placeholder=spec.range_text,
                id=f"param-{name}",
                tooltip=spec.help,
                compact=True,
            )

    def params(self) -> SamplingParams:
        """The parameters typed; ValueError naming the first bad one."""
        values: dict[str, Any] = {}
        for name in self.names:
            text = self.query_one(f"#param-{name}", Input).value
            value = parse_stop(text) if name == "stop" else validate_param(name, text)
            if value is not None:
                values[name] = value
        return SamplingParams(**values)


def _as_text(value: object) -> str:
    if isinstance(value, tuple):
        return json.dumps(list(value))
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def describe_result(result: ChatResult, *, ttft_s: float | None = None) -> str:
    """One line on how a reply ended: finish reason explained, tokens, speed."""
    parts = [f"finish: {result.finish_reason.value} — {explain_finish(result.finish_reason)}"]
    if result.detail:
        parts.append(make_inert(result.detail))
    parts.extend(speed_parts(result, ttft_s=ttft_s))
    return " · ".join(parts)


def speed_parts(result: ChatResult, *, ttft_s: float | None = None) -> list[str]:
    """Usage, time to first token and tokens per second, as short labels."""
    parts: list[str] = []
    usage = result.usage
    if usage is not None:
        parts.append(f"tokens: {usage.prompt_tokens} in, {usage.completion_tokens} out")
    timings = result.client_timings
    first = ttft_s if ttft_s is not None else (timings.time_to_first_token_s if timings else None)
    if first is not None:
        parts.append(f"first token {first:.2f}s")
    speed = result.server_timings.tokens_per_second if result.server_timings else None
    if speed is None and timings is not None:
        speed = timings.tokens_per_second
    if speed is not None:
        parts.append(f"{speed:.1f} tok/s")
    if timings is not None:
        parts.append(f"{timings.total_s:.2f}s total")
    return parts

"""Choosing the model, system prompt and parameters for a chat.

The same rules for the TUI and ``lmtui ask``: an explicit ``--model`` wins, then
the preset's preferred models, then what the server has loaded — and the
reason for the choice is always said, never silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lmtui.backend.errors import ConfigError, LmtuiError, NoModelLoaded
from lmtui.backend.native_chat import Integration
from lmtui.backend.types import SamplingParams

if TYPE_CHECKING:
    from collections.abc import Sequence

    from lmtui.backend.client import LMStudioClient
    from lmtui.backend.sync_client import SyncClient
    from lmtui.backend.types import Model
    from lmtui.store.config import Config
    from lmtui.store.history import HistoryStore
    from lmtui.store.presets import Preset


@dataclass(frozen=True, slots=True)
class ChatSetup:
    """What a new conversation starts with."""

    model: str
    system_prompt: str
    params: SamplingParams
    preset_name: str | None
    note: str = ""
    fallback: bool = False
    reasoning: str | None = None  # the preset's reasoning setting (LM Studio)
    integrations: tuple[Integration, ...] = ()  # the preset's LM Studio integrations


async def choose_chat_setup(
    client: LMStudioClient,
    cfg: Config,
    *,
    cli_overrides: dict[str, Any] | None = None,
    explicit_model: str | None = None,
    default_max_tokens: int | None = None,
    models: Sequence[Model] | None = None,
) -> ChatSetup:
    """Resolve preset, model and parameters for one conversation.

    ``explicit_model`` is a model asked for on purpose (``--model``): it beats the
    preset's preference. ``cfg.model`` (config file, ``LMTUI_MODEL``) is only a
    default, used when the preset's preferred models are not on the server.
    ``default_max_tokens`` caps replies when neither the preset nor the overrides do
    (the embedded server's small model loops without one). ``models`` is the server's
    list when the caller has just fetched it (else it is asked for).
    """
    plan = SetupPlan.make(cfg, cli_overrides, explicit_model, default_max_tokens)
    if plan.ready is not None:
        return plan.ready
    return plan.finish(list(models) if models is not None else await client.list_models())


def choose_chat_setup_sync(
    client: SyncClient,
    cfg: Config,
    *,
    cli_overrides: dict[str, Any] | None = None,
    explicit_model: str | None = None,
    default_max_tokens: int | None = None,
) -> ChatSetup:
    """:func:`choose_chat_setup` on the synchronous client (``lmtui ask``)."""
    plan = SetupPlan.make(cfg, cli_overrides, explicit_model, default_max_tokens)
    return plan.ready or plan.finish(client.list_models())


@dataclass(frozen=True, slots=True)
class SetupPlan:
    """A setup resolved as far as it can be without asking the server for its models."""

    cfg: Config
    preset: Preset | None
    params: SamplingParams
    explicit_model: str | None
    integrations: tuple[Integration, ...]
    #: The whole setup when no listing is needed (an explicit model and no preset).
    ready: ChatSetup | None

    @classmethod
    def make(
        cls,
        cfg: Config,
        cli_overrides: dict[str, Any] | None,
        explicit_model: str | None,
        default_max_tokens: int | None,
    ) -> SetupPlan:
        """Read the preset and parameters; see :func:`choose_chat_setup` for the arguments."""
        overrides = SamplingParams.from_mapping(cli_overrides or {})
        preset = None
        if cfg.preset:
            from lmtui.store.presets import load_presets

            presets = load_presets()
            preset = presets.require(cfg.preset)
        merged = preset.params.merged(overrides) if preset else overrides
        params = capped(merged, default_max_tokens)
        integrations = resolve_integrations(cfg, preset.integrations if preset else ())
        wanted = explicit_model or (cfg.model if preset is None else None)
        ready = None
        if wanted and preset is None:
            # Fast path: nothing to resolve, no extra request before the prompt is sent.
            ready = ChatSetup(wanted, "", params, None)
        return cls(cfg, preset, params, explicit_model, integrations, ready)

    def finish(self, available: list[Model]) -> ChatSetup:
        """The setup, with the model chosen among ``available``."""
        from lmtui.services.model_choice import resolve_model

        preset, cfg = self.preset, self.cfg
        choice = resolve_model(preset, self.explicit_model, available, default=cfg.model)
        if choice.model_id is None:
            raise NoModelLoaded("The server has no model to chat with.", None)
        return ChatSetup(
            choice.model_id,
            preset.system_prompt if preset else "",
            self.params,
            preset.name if preset else None,
            choice.reason,
            choice.fallback,
            preset.reasoning if preset else None,
            self.integrations,
        )


def capped(params: SamplingParams, cap: int | None) -> SamplingParams:
    """``params`` with ``max_tokens = cap`` when they set no ``max_tokens`` themselves."""
    if cap is None or params.max_tokens is not None:
        return params
    return params.merged(SamplingParams(max_tokens=cap))


def resolve_integrations(cfg: Config, names: tuple[str, ...]) -> tuple[Integration, ...]:
    """The config's integrations named by a preset or chat; an unknown name is an error."""
    missing = [n for n in names if n not in cfg.integrations]
    if missing:
        known = ", ".join(sorted(cfg.integrations)) or "none"
        raise ConfigError(
            f"No integration named {', '.join(missing)} in the config.",
            f"Add [integrations.{missing[0]}] to the config file (configured: {known}).",
        )
    return tuple(cfg.integrations[n] for n in names)


def open_history(*, recover: bool = True) -> tuple[HistoryStore | None, str | None]:
    """Open the history store, or say why history is not being saved.

    Returns the store (None when it cannot be opened) and the one line to show the
    user, if any: why it could not be opened, or that it is read but not saved.
    ``recover=False`` skips marking dead writers' replies interrupted (a write, which
    waits on a locked database): the TUI's history worker does it instead.
    """
    try:
        from lmtui.store.history import HistoryStore

        store = HistoryStore(recover=recover)
        return store, store.read_only_note
    except LmtuiError as exc:
        return None, exc.message
    except OSError as exc:
        return None, f"history is not being saved: {exc}"


def conversation_to_reopen(history: HistoryStore | None, last: int | None) -> int | None:
    """``last`` (the conversation open when the app last ran) if it can still be opened.

    None when there is no history, nothing was open, or it has been deleted since.
    """
    if history is None or last is None:
        return None
    try:
        summary, _ = history.get_conversation(last)
    except (LmtuiError, OSError):
        return None
    return None if summary.deleted is not None else last

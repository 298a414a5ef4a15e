"""What the chat screen asks of the server and opens on top of itself.

:class:`ChatCommands` is a part of :class:`~lmtui.ui.chat_screen.ChatScreen`, built on
:class:`~lmtui.ui.chat_screen_base.ChatScreenBase`. It lists, loads and unloads
models and switches servers through :mod:`lmtui.services.models`, and opens the
dialogs and tools: presets (F3), parameters (F4), troubleshooting (F5), history
(F6), the workbench (F8) and the server switcher (Alt+S).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work

from lmtui.backend.errors import LmtuiError, ModelLoading, NoModelLoaded
from lmtui.backend.types import ApiLevel, Model
from lmtui.services.jit import read_jit
from lmtui.services.models import list_models, model_after_switch
from lmtui.services.reply_extras import answer_findings
from lmtui.services.setup import choose_chat_setup
from lmtui.ui.chat_screen_base import ChatScreenBase
from lmtui.ui.notices import notify_error, notify_text
from lmtui.ui.server_loading import LOADING_TEXT, LoadingRetry
from lmtui.ui.sidebar import ModelSidebar

if TYPE_CHECKING:
    from lmtui.store.presets import Preset
    from lmtui.ui.model_admin_ui import ModelAdmin
    from lmtui.ui.param_panel import ParamResult

HISTORY_OFF = "History is off (save_history = false, or it could not be opened)."


class ChatCommands(ChatScreenBase):
    """Models, servers, and the dialogs and tools of the chat screen."""

    _model_admin: ModelAdmin | None = None
    _loading_retry: LoadingRetry | None = None

    # ---- models ---------------------------------------------------------------

    @property
    def loading_retry(self) -> LoadingRetry:
        """The wait-and-retry state for a server still loading its model."""
        if self._loading_retry is None:
            self._loading_retry = LoadingRetry()
        return self._loading_retry

    @work(group="models", exclusive=True, exit_on_error=False)
    async def refresh_models(self, choose: bool = False) -> None:
        """List the server's models into the sidebar; optionally pick one to chat with.

        A server still loading its model is asked again after a bounded backoff,
        with the wait shown, until it answers.
        """
        retry = self.loading_retry
        retry.cancel()
        try:
            models = await self.lmtui.models_request(self.session.client)
        except ModelLoading as exc:
            if not retry.exhausted:
                self._wait_for_loading(retry, choose)
                return
            self._end_loading_wait()
            self._show_models_error(exc)
            return
        except LmtuiError as exc:
            self._end_loading_wait()
            self._show_models_error(exc)
            return
        self._end_loading_wait()
        self.status.set(server_ok=True)
        await self._show_models(models)
        if choose and (self.lmtui.cfg.preset or not self.session.model):
            await self._choose_setup(models)

    def _show_models_error(self, exc: LmtuiError) -> None:
        self.sidebar.set_error(exc.message, exc.remedy)
        self.status.set(server_ok=False)
        notify_error(self.app, exc)

    def _wait_for_loading(self, retry: LoadingRetry, choose: bool) -> None:
        """Show that the server is loading and ask again after the next backoff delay."""
        delay = retry.next_delay()
        self.sidebar.set_busy(LOADING_TEXT)
        self.status.set(server_ok=False, warning=retry.status(delay))
        retry.timer = self.set_timer(delay, lambda: self.refresh_models(choose=choose))

    def _end_loading_wait(self) -> None:
        """The server answered (or lmtui gave up): drop the loading state and its timer."""
        retry = self.loading_retry
        waited = retry.tries > 0
        retry.reset()
        if waited:
            self.sidebar.set_busy(None)
            if LOADING_TEXT in self.status.warning:
                self.status.set(warning="")

    async def _show_models(self, models: list[Model]) -> None:
        """Put ``models`` in the sidebar with what the server offers (load over its API, JIT)."""
        client = self.session.client
        caps = client.capabilities
        try:
            jit = (await read_jit(client)).setting
        except LmtuiError:
            jit = "unknown"
        self.sidebar.set_models(
            models,
            active=self.session.model,
            can_load=bool(caps and caps.has(ApiLevel.NATIVE_V1)),
            jit=jit,
        )
        self.sidebar.set_ttl(self.session.params.ttl)

    async def _choose_setup(self, models: list[Model]) -> None:
        """Pick the model, preset and parameters from ``models``, the list just fetched."""
        cfg = self.lmtui.cfg.with_overrides(model=self.session.model)
        try:
            setup = await choose_chat_setup(
                self.session.client,
                cfg,
                default_max_tokens=self.lmtui.default_cap,
                models=models,  # not asked for a second time
            )
        except NoModelLoaded:
            if self.sidebar.jit == "on":
                note = "nothing loaded — pick a model (F2): LM Studio loads it on first use"
            elif self.sidebar.can_load:
                note = "no model loaded — pick one in the sidebar (F2) and load it (l)"
            else:  # no /api/v1: lmtui cannot load, so it does not offer to
                note = "no model loaded — load one with `lms load <model>` or in LM Studio"
            self.status.set(note=note)
            return
        except LmtuiError as exc:
            notify_error(self.app, exc)
            return
        self.session.model = setup.model
        self.session.system_prompt = setup.system_prompt
        self.session.params = setup.params
        self.session.preset = setup.preset_name
        self.session.reasoning = setup.reasoning  # type: ignore[assignment]
        self.session.integrations = setup.integrations
        self.status.set(model=setup.model, preset=setup.preset_name or "")
        self.sidebar.set_active(setup.model)
        self.sidebar.set_ttl(setup.params.ttl)
        if setup.note:
            self.status.set(note=setup.note)
            notify_text(self.app, f"Model: {setup.model} — {setup.note}")

    @on(ModelSidebar.ModelSelected)
    def _model_selected(self, event: ModelSidebar.ModelSelected) -> None:
        self.session.model = event.model.id
        self.sidebar.set_active(event.model.id)
        note = "" if event.model.loaded is not False else "not loaded: the server may load it"
        self.status.set(model=event.model.id, note=note)
        self.composer.focus()

    @on(ModelSidebar.RefreshRequested)
    def _refresh_requested(self) -> None:
        self.refresh_models(choose=not self.session.model)

    # Load (L), unload (U) and download (D) live in ui/model_admin_ui.py.

    @property
    def model_admin(self) -> ModelAdmin:
        """Load, unload and download for this screen (made on first use)."""
        if self._model_admin is None:
            from lmtui.ui.model_admin_ui import ModelAdmin  # its dialogs load on first use

            self._model_admin = ModelAdmin(
                self.app,
                client=lambda: self.session.client,
                sidebar=lambda: self.sidebar,
                status=lambda: self.status,
                changed=lambda: self.refresh_models(choose=not self.session.model),
            )
        return self._model_admin

    @on(ModelSidebar.LoadRequested)
    def _load_requested(self, event: ModelSidebar.LoadRequested) -> None:
        self.model_admin.open_load(event.model)

    @on(ModelSidebar.UnloadRequested)
    def _unload_requested(self, event: ModelSidebar.UnloadRequested) -> None:
        self.model_admin.unload(event.model, event.instance_ids)

    @on(ModelSidebar.DownloadRequested)
    def _download_requested(self) -> None:
        self.model_admin.open_download()

    def action_load_model(self) -> None:
        """Open the load dialog for the highlighted model (palette)."""
        model = self.sidebar.highlighted_model
        if model is None:
            notify_text(self.app, "Highlight a model in the sidebar (F2) first.")
            return
        self.model_admin.open_load(model)

    def action_download_model(self) -> None:
        """Open the download dialog (palette)."""
        self.model_admin.open_download()

    def action_refresh_models(self) -> None:
        """List the models again."""
        self.refresh_models(choose=not self.session.model)

    # ---- servers --------------------------------------------------------------

    def action_switch_server(self) -> None:
        """List the server profiles with their health (Alt+S); Enter switches."""
        from lmtui.ui.server_switcher import ServerSwitcher

        def chosen(name: str | None) -> None:
            if name is not None:
                self.switch_server(name)

        self.app.push_screen(ServerSwitcher(self.lmtui.registry), chosen)

    @work(group="switch-server", exclusive=True, exit_on_error=False)
    async def switch_server(self, name: str) -> None:
        """Talk to profile ``name`` from now on (a streaming reply is stopped first).

        The conversation goes on with the new server; its model is kept when the new
        server has it, else the profile's model or a loaded one is chosen (and said).
        """
        app = self.lmtui
        try:
            client = app.registry.client(name)
        except LmtuiError as exc:
            notify_error(app, exc)
            return
        await self.stop_streaming()
        self.workers.cancel_group(self, "models")
        profile = app.registry.switch(name)
        app.use_client(client, name)
        self.session.client = client
        self.session.server_label = name
        self.status.set(server=name, server_ok=None, speed="", note=f"switched to {name}")
        self.sidebar.set_busy(f"Listing {name}'s models…")
        try:
            models = await list_models(client)
        except LmtuiError as exc:
            self.sidebar.set_error(exc.message, exc.remedy or "")
            self.status.set(server_ok=False)
            notify_error(app, exc)
            return
        finally:
            self.sidebar.set_busy(None)
        self.status.set(server_ok=True)
        kept = model_after_switch(
            self.session.model, models, profile_model=profile.model, server=name
        )
        self.session.model = kept.model_id
        await self._show_models(models)
        self.status.set(model=self.session.model or "", note=kept.note)
        notify_text(app, kept.note[:1].upper() + kept.note[1:])

    # ---- presets and parameters -------------------------------------------------

    def _current_preset(self) -> Preset | None:
        if not self.session.preset:
            return None
        from lmtui.store.presets import load_presets

        return load_presets().get(self.session.preset)

    def action_choose_preset(self) -> None:
        """Pick a preset for this conversation (F3)."""
        from lmtui.store.presets import load_presets
        from lmtui.ui.preset_picker import PresetPicker

        def chosen(preset: Preset | None) -> None:
            if preset is not None:
                self._apply_preset(preset)

        self.app.push_screen(PresetPicker(load_presets(), current=self.session.preset), chosen)

    @work(group="preset", exclusive=True, exit_on_error=False)
    async def _apply_preset(self, preset: Preset) -> None:
        """Apply ``preset`` to the conversation; its model is chosen from the server's list."""
        from lmtui.services.presets_apply import apply_preset

        try:
            models = await list_models(self.session.client)
        except LmtuiError as exc:
            models = self.sidebar.models
            self.status.set(warning=f"models not listed: {exc.message}")
        reason = apply_preset(self.session, preset, models, self.lmtui.cfg.integrations)
        self.status.set(model=self.session.model or "", preset=preset.name, note=reason)
        self.sidebar.set_active(self.session.model)
        self.sidebar.set_ttl(self.session.params.ttl)
        notify_text(self.app, f"Preset '{preset.name}'. {reason}")

    def action_save_preset(self) -> None:
        """Save the conversation's model, system prompt and parameters as a preset."""
        from lmtui.ui.preset_picker import PresetEditor

        def saved(preset: Preset | None) -> None:
            if preset is not None:
                self.session.preset = preset.name
                self.status.set(preset=preset.name)
                notify_text(self.app, f"Saved preset '{preset.name}' to {preset.path}")

        editor = PresetEditor.from_current(
            self.session.preset or "",
            self.session.system_prompt,
            self.session.model,
            self.session.params,
        )
        self.app.push_screen(editor, saved)

    def action_edit_params(self) -> None:
        """Edit the conversation's sampling parameters and system prompt (F4)."""
        from lmtui.ui.param_panel import ParamPanel

        preset = self._current_preset()

        def saved(result: ParamResult | None) -> None:
            if result is None:
                return
            self.session.params = result.params
            self.sidebar.set_ttl(result.params.ttl)
            self.session.system_prompt = result.system_prompt
            notify_text(self.app, "Parameters saved: the next request uses them.")

        panel = ParamPanel(
            self.session.params,
            preset=preset.params if preset is not None else None,
            system_prompt=self.session.system_prompt,
            preset_name=preset.name if preset is not None else None,
        )
        self.app.push_screen(panel, saved)

    # ---- history, troubleshooting, workbench ------------------------------------

    def action_rename_conversation(self) -> None:
        """Rename the conversation on screen (Alt+T)."""
        from lmtui.ui.conversation_actions import rename_current

        rename_current(self)

    def action_export_conversation(self) -> None:
        """Export the conversation on screen to a Markdown or JSON file (Alt+X)."""
        from lmtui.ui.conversation_actions import export_current

        export_current(self)

    def action_open_history(self) -> None:
        """Browse and search saved conversations (F6); Enter opens one."""
        history = self.lmtui.history
        if history is None:
            notify_text(self.app, HISTORY_OFF, severity="warning")
            return
        from lmtui.ui.history_browser import HistoryBrowser

        async def chosen(conversation_id: int | None) -> None:
            if conversation_id is not None:
                await self.open_conversation(conversation_id)

        self.app.push_screen(HistoryBrowser(history), chosen)

    def action_troubleshoot(self) -> None:
        """Server health, loaded models, findings and the last requests (F5)."""
        from lmtui.ui.troubleshoot import TroubleshootScreen

        app = self.lmtui
        self.app.push_screen(
            TroubleshootScreen(
                self.session.client,
                app.request_log,
                model=self.session.model,
                with_token=app.sends_token,
                reply_findings=answer_findings([e.answer_note for e in self.session.entries]),
            )
        )

    def action_workbench(self) -> None:
        """The workbench tools (F8): completions, embeddings, search, compare, batch."""
        from lmtui.ui.workbench import workbench_screens
        from lmtui.ui.workbench_menu import WorkbenchMenu

        tools = [(tool, title) for tool, (title, _) in workbench_screens().items()]

        def chosen(tool: str | None) -> None:
            if tool is not None:
                self.action_open_workbench_tool(tool)

        self.app.push_screen(WorkbenchMenu(tools), chosen)

    def action_open_workbench_tool(self, tool: str) -> None:
        """Open one workbench tool by id (see ``workbench_screens``)."""
        self._open_tool(tool)

    @work(group="workbench", exclusive=True, exit_on_error=False)
    async def _open_tool(self, tool: str) -> None:
        from lmtui.ui.workbench import open_tool

        models = self.sidebar.models
        if not models:
            try:
                models = await list_models(self.session.client)
            except LmtuiError as exc:
                self.status.set(warning=f"models not listed: {exc.message}")
        extra: dict[str, Any] = {}
        history = self.lmtui.history
        if tool in ("semantic_search", "compare") and history is not None:
            extra["history"] = history
        open_tool(
            self.app, tool, self.session.client, models, default_model=self.session.model, **extra
        )

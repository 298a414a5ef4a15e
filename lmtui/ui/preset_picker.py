"""The preset picker and the preset editor.

``PresetPicker(presets, current=...)`` lists every preset with its description,
preferred models and temperature, filtered as you type; broken preset files are
listed under the list with their file and line. Enter returns the chosen
:class:`~lmtui.store.presets.Preset`, Esc returns None. From the list (Tab from
the filter), ``n`` creates a preset, ``e`` edits, ``c`` duplicates and ``d``
deletes a user preset after a confirmation; each opens a :class:`PresetEditor`
or writes through :mod:`lmtui.store.presets`, and the list reloads from disk.

``PresetEditor`` edits a name, description, preferred models, system prompt and
parameters and saves with :func:`~lmtui.store.presets.save_preset` (0600 files;
a broken or foreign file is never overwritten). Its result is the saved preset.
``PresetEditor.from_current(...)`` is the "save current settings as preset" entry.

Applying a chosen preset to a conversation is :func:`lmtui.services.presets_apply.apply_preset`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from lmtui.backend.errors import ConfigError
from lmtui.backend.params import format_param
from lmtui.backend.types import SamplingParams
from lmtui.services.presets_apply import apply_preset
from lmtui.store.builtin_presets import BUILTIN_PRESETS
from lmtui.store.presets import (
    Preset,
    PresetSet,
    delete_preset,
    duplicate,
    load_presets,
    preset_from_current,
    preset_key,
    save_preset,
)
from lmtui.ui.notices import notify_error, notify_text
from lmtui.ui.param_panel import DIFFERS_MARK, ParamFields
from lmtui.ui.text_box import TextBox

__all__ = [
    "ConfirmDelete",
    "PresetEditor",
    "PresetPicker",
    "apply_preset",
    "copy_name",
    "preset_matches",
    "preset_row",
]

_CSS_FILE = Path(__file__).with_suffix(".tcss")
_ACTION_KEYS = frozenset("necd")


def preset_matches(preset: Preset, query: str) -> bool:
    """True when every word of ``query`` occurs in the preset's name or description."""
    haystack = f"{preset.name}\n{preset.description}".casefold()
    return all(word in haystack for word in query.casefold().split())


def _origin(preset: Preset, presets: PresetSet) -> str:
    if preset.builtin:
        return "built-in"
    if presets.overrides_builtin(preset):
        return "user, replaces the built-in"
    return "user"


def preset_row(preset: Preset, presets: PresetSet, *, current: str | None = None) -> Content:
    """The three lines of one preset in the list: name, description, models and temperature."""
    is_current = current is not None and preset_key(current) == preset.key
    models = ", ".join(preset.models) if preset.models else "any loaded model"
    temperature = format_param("temperature", preset.params.temperature) or "server default"
    return Content.assemble(
        (preset.name, "bold"),
        ("  (current)" if is_current else "", "italic"),
        (f"  [{_origin(preset, presets)}]", "dim"),
        "\n  ",
        preset.description or "—",
        "\n  ",
        (f"temperature {temperature} · models: {models}", "dim"),
    )


def copy_name(name: str, presets: PresetSet) -> str:
    """A free name for a copy of ``name``: ``NAME copy``, ``NAME copy 2``, …"""
    candidate = f"{name} copy"
    number = 2
    while presets.get(candidate) is not None:
        candidate = f"{name} copy {number}"
        number += 1
    return candidate


class ConfirmDelete(ModalScreen[bool]):
    """Ask before deleting a preset file: ``y`` deletes, ``n`` or Esc keeps it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Delete", id="preset_delete_yes"),
        Binding("n,escape", "answer(False)", "Keep", id="preset_delete_no"),
    ]

    DEFAULT_CSS = """
    ConfirmDelete {
        align: center middle;
    }
    ConfirmDelete > #confirm-box {
        width: 64;
        max-width: 100%;
        height: auto;
        border: round $error;
        background: $surface;
        padding: 0 1;
    }
    ConfirmDelete #confirm-hint {
        color: $text-muted;
    }
    """

    def __init__(self, preset: Preset, *, brings_back_builtin: bool) -> None:
        super().__init__()
        self._preset = preset
        self._builtin_back = brings_back_builtin

    def compose(self) -> ComposeResult:
        where = str(self._preset.path) if self._preset.path else "its file"
        text = f"Delete preset '{self._preset.name}'? This removes {where}."
        if self._builtin_back:
            text += " The built-in preset of that name comes back."
        with Vertical(id="confirm-box") as box:
            box.border_title = "Delete preset"
            yield Static(text, id="confirm-text", markup=False)
            yield Static("y delete · n / Esc keep", id="confirm-hint", markup=False)

    def action_answer(self, delete: bool) -> None:
        """Close with the answer."""
        self.dismiss(delete)


class PresetEditor(ModalScreen[Preset | None]):
    """Create or edit one preset and save it to its own file (0600)."""

    DEFAULT_CSS = _CSS_FILE.read_text(encoding="utf-8")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="preset_editor_save"),
        Binding("escape", "cancel", "Cancel", id="preset_editor_cancel"),
    ]

    def __init__(
        self,
        preset: Preset | None = None,
        *,
        directory: Path | None = None,
        title: str | None = None,
    ) -> None:
        """Edit ``preset`` (a new, empty one when None).

        A preset loaded from a user file is saved back to that file; a built-in or
        a copy is saved as a new user file. ``directory`` defaults to the user's
        preset directory.
        """
        super().__init__()
        self._original = preset or Preset(name="")
        self._directory = directory
        self._title = title or ("Edit preset" if preset and preset.name else "New preset")
        self._confirmed_key: str | None = None

    @classmethod
    def from_current(
        cls,
        name: str,
        system_prompt: str,
        model: str | None,
        params: SamplingParams,
        *,
        directory: Path | None = None,
    ) -> PresetEditor:
        """An editor holding a conversation's current settings ("save as preset")."""
        if name.strip():
            preset = preset_from_current(name, system_prompt, model, params)
        else:
            preset = Preset(
                name="",
                system_prompt=system_prompt,
                models=(model,) if model else (),
                params=params,
            )
        return cls(preset, directory=directory, title="Save current settings as preset")

    def compose(self) -> ComposeResult:
        preset = self._original
        with Vertical(id="editor-box") as box:
            box.border_title = self._title
            box.border_subtitle = f"{DIFFERS_MARK} changed · Ctrl+S save · Esc cancel"
            with VerticalScroll(id="editor-scroll"):
                with Horizontal(classes="editor-line"):
                    yield Label("Name", classes="editor-label")
                    yield Input(preset.name, id="editor-name", compact=True)
                with Horizontal(classes="editor-line"):
                    yield Label("Description", classes="editor-label")
                    yield Input(preset.description, id="editor-description", compact=True)
                with Horizontal(classes="editor-line"):
                    yield Label("Models", classes="editor-label")
                    yield Input(
                        ", ".join(preset.models),
                        id="editor-models",
                        placeholder="ids or patterns, best first, comma-separated (blank: any)",
                        compact=True,
                    )
                yield Label("System prompt", classes="editor-section")
                yield TextBox(
                    preset.system_prompt,
                    id="editor-system-prompt",
                    soft_wrap=True,
                    compact=True,
                    tab_behavior="focus",
                )
                yield Label(
                    "Parameters (blank = unset: the server default)", classes="editor-section"
                )
                yield ParamFields(preset.params, preset.params, id="editor-params")
            yield Static("", id="editor-message", markup=False)
            with Horizontal(id="editor-buttons"):
                yield Button("Save", id="editor-save", variant="primary", compact=True)
                yield Button("Cancel", id="editor-cancel", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#editor-name", Input).focus()

    @property
    def message(self) -> Static:
        """The line that says why saving failed."""
        return self.query_one("#editor-message", Static)

    def _fail(self, text: str) -> None:
        self.message.update(text)
        self.message.add_class("-error")

    def edited(self) -> Preset:
        """The preset as the form holds it now; ValueError when a parameter is invalid."""
        params = self.query_one(ParamFields).params()
        models = tuple(
            m.strip() for m in self.query_one("#editor-models", Input).value.split(",") if m.strip()
        )
        return replace(
            self._original,
            name=self.query_one("#editor-name", Input).value.strip(),
            description=self.query_one("#editor-description", Input).value.strip(),
            system_prompt=self.query_one("#editor-system-prompt", TextArea).text,
            models=models,
            params=params,
            builtin=False,
            path=None if self._original.builtin else self._original.path,
        )

    def action_save(self) -> None:
        """Save to the preset's file; on any problem stay open and say why."""
        try:
            preset = self.edited()
        except ValueError as exc:
            self._fail(f"Not saved: {exc}")
            return
        if not preset.name:
            self._fail("Not saved: a preset needs a name.")
            self.query_one("#editor-name", Input).focus()
            return
        if self._replaces_builtin(preset) and self._confirmed_key != preset.key:
            self._confirmed_key = preset.key
            self._fail(
                f"'{preset.name}' is a built-in preset: saving replaces it with your file. "
                "Press Ctrl+S again to do so, or change the name."
            )
            return
        try:
            path = save_preset(preset, self._directory)
        except ConfigError as exc:
            self._fail(f"Not saved: {exc.message} {exc.remedy or ''}".strip())
            return
        except OSError as exc:
            self._fail(f"Not saved: cannot write the preset file: {exc.strerror or exc}.")
            return
        self.dismiss(replace(preset, path=path))

    def _replaces_builtin(self, preset: Preset) -> bool:
        """True when saving would newly shadow a built-in the user did not start from."""
        started_from = self._original.key if self._original.name else None
        if started_from == preset.key:
            return False
        return any(b.key == preset.key for b in BUILTIN_PRESETS)

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)

    @on(Button.Pressed, "#editor-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#editor-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()


class PresetPicker(ModalScreen[Preset | None]):
    """Choose a preset; create, edit, duplicate or delete presets on the way."""

    DEFAULT_CSS = _CSS_FILE.read_text(encoding="utf-8")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", id="preset_cancel"),
        Binding("n", "new", "New", id="preset_new"),
        Binding("e", "edit", "Edit", id="preset_edit"),
        Binding("c", "duplicate", "Duplicate", id="preset_duplicate"),
        Binding("d", "delete", "Delete", id="preset_delete"),
        Binding("slash", "focus_filter", "Filter", show=False, id="preset_filter"),
        Binding("down", "move(1)", "Next", show=False, id="presets.next"),
        Binding("up", "move(-1)", "Previous", show=False, id="presets.previous"),
        Binding("pagedown", "move(5)", "Page down", show=False, id="presets.page_down"),
        Binding("pageup", "move(-5)", "Page up", show=False, id="presets.page_up"),
    ]

    def __init__(
        self,
        presets: PresetSet,
        *,
        current: str | None = None,
        directory: Path | None = None,
    ) -> None:
        """``current`` is the conversation's preset name (marked and highlighted first).

        ``directory`` is where user presets are saved and reloaded from (default: the
        user's preset directory).
        """
        super().__init__()
        self._presets = presets
        self._current = current
        self._directory = directory
        self._shown: list[Preset] = []

    @property
    def presets(self) -> PresetSet:
        """The presets as last loaded (they reload after every edit)."""
        return self._presets

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box") as box:
            box.border_title = "Presets"
            yield Input(
                placeholder="Type to filter…",
                id="picker-filter",
                compact=True,
                select_on_focus=False,
            )
            yield OptionList(id="picker-list")
            yield Static("", id="picker-warnings", markup=False)
            yield Static(
                "Enter use · Tab to the list, then n new · e edit · c copy · d delete · Esc close",
                id="picker-hint",
                markup=False,
            )
        yield Footer()

    def on_mount(self) -> None:
        self._fill("", keep=self._current)
        self._show_warnings()
        self.filter_input.focus()

    @property
    def filter_input(self) -> Input:
        """The filter input."""
        return self.query_one("#picker-filter", Input)

    @property
    def option_list(self) -> OptionList:
        """The list of presets."""
        return self.query_one("#picker-list", OptionList)

    @property
    def shown(self) -> list[Preset]:
        """The presets the filter lets through, in list order."""
        return list(self._shown)

    def highlighted(self) -> Preset | None:
        """The highlighted preset, if any."""
        index = self.option_list.highlighted
        if index is None or not 0 <= index < len(self._shown):
            return None
        return self._shown[index]

    def _fill(self, query: str, keep: str | None = None) -> None:
        previous = self.highlighted()
        wanted = keep if keep is not None else (previous.name if previous else None)
        self._shown = [p for p in self._presets.all() if preset_matches(p, query)]
        options = self.option_list
        options.set_options(
            Option(preset_row(p, self._presets, current=self._current), id=p.key)
            for p in self._shown
        )
        if not self._shown:
            return
        keys = [p.key for p in self._shown]
        wanted_key = preset_key(wanted) if wanted else None
        options.highlighted = keys.index(wanted_key) if wanted_key in keys else 0

    def _show_warnings(self) -> None:
        errors = self._presets.errors
        warnings = self.query_one("#picker-warnings", Static)
        warnings.display = bool(errors)
        if errors:
            count = "1 preset file" if len(errors) == 1 else f"{len(errors)} preset files"
            lines = [f"⚠ {count} could not be read and are not listed:"]
            lines += [f"  {e.message}" for e in errors]
            warnings.update("\n".join(lines))

    def _reload(self, keep: str | None = None) -> None:
        self._presets = load_presets(self._directory)
        self._fill(self.filter_input.value, keep=keep)
        self._show_warnings()

    @on(Input.Changed, "#picker-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#picker-filter")
    @on(OptionList.OptionSelected, "#picker-list")
    def _choose(self) -> None:
        preset = self.highlighted()
        if preset is not None:
            self.dismiss(preset)

    def on_key(self, event: events.Key) -> None:
        """Typing in the list goes to the filter (except the action keys)."""
        if (
            self.focused is self.option_list
            and event.is_printable
            and event.character
            and event.character not in _ACTION_KEYS
            and event.character != "/"
        ):
            event.stop()
            event.prevent_default()
            self.filter_input.focus()
            self.filter_input.insert_text_at_cursor(event.character)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim edit/duplicate/delete when they cannot apply to the highlighted preset."""
        if action in ("edit", "duplicate", "delete"):
            preset = self.highlighted() if self.is_mounted else None
            if preset is None or (action == "delete" and preset.builtin):
                return None
        return True

    def action_move(self, step: int) -> None:
        """Move the highlight by ``step`` rows, clamped to the list."""
        options = self.option_list
        if options.option_count == 0:
            return
        current = options.highlighted if options.highlighted is not None else 0
        options.highlighted = max(0, min(options.option_count - 1, current + step))
        self.refresh_bindings()

    @on(OptionList.OptionHighlighted, "#picker-list")
    def _highlight_moved(self) -> None:
        self.refresh_bindings()

    def action_focus_filter(self) -> None:
        """Go back to the filter."""
        self.filter_input.focus()

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)

    def _open_editor(self, editor: PresetEditor) -> None:
        def saved(result: Preset | None) -> None:
            if result is not None:
                self._reload(keep=result.name)
                notify_text(self.app, f"Saved preset '{result.name}' to {result.path}")

        self.app.push_screen(editor, saved)

    def action_new(self) -> None:
        """Create a preset."""
        self._open_editor(PresetEditor(directory=self._directory))

    def action_edit(self) -> None:
        """Edit the highlighted preset (a built-in is saved as a user file replacing it)."""
        preset = self.highlighted()
        if preset is None:
            return
        title = f"Edit built-in '{preset.name}' (saved as your copy)" if preset.builtin else None
        self._open_editor(PresetEditor(preset, directory=self._directory, title=title))

    def action_duplicate(self) -> None:
        """Edit a copy of the highlighted preset under a new name."""
        preset = self.highlighted()
        if preset is None:
            return
        copy = duplicate(preset, copy_name(preset.name, self._presets))
        self._open_editor(PresetEditor(copy, directory=self._directory, title="Duplicate preset"))

    def action_delete(self) -> None:
        """Delete the highlighted user preset's file, after asking."""
        preset = self.highlighted()
        if preset is None:
            return
        if preset.builtin:
            self.notify("Built-in presets cannot be deleted.", severity="warning")
            return
        back = self._presets.overrides_builtin(preset)

        def answered(delete: bool | None) -> None:
            if not delete:
                return
            try:
                path = delete_preset(preset.name, self._directory)
            except ConfigError as exc:
                notify_error(self.app, exc)
                return
            except OSError as exc:
                notify_text(self.app, f"Cannot delete: {exc.strerror or exc}.", severity="error")
                return
            self._reload()
            notify_text(self.app, f"Deleted {path}")

        self.app.push_screen(ConfirmDelete(preset, brings_back_builtin=back), answered)

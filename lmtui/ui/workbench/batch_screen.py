"""The batch screen: run a file of prompts with progress, ETA and speed; rerun to resume."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Label, ProgressBar, Select, Static

from lmtui.backend.errors import ConfigError, LmtuiError, NoModelLoaded
from lmtui.backend.types import Model, SamplingParams
from lmtui.services.batch import (
    BatchProgress,
    BatchRow,
    BatchSettings,
    done_indexes,
    read_rows,
    run_batch,
)
from lmtui.services.batch_pool import PoolServer, ServerPool
from lmtui.services.clients import Client, client_for
from lmtui.services.model_choice import resolve_model
from lmtui.services.terminal_text import make_inert
from lmtui.store.presets import Preset, PresetSet, load_presets
from lmtui.store.profiles import ServerProfile
from lmtui.ui.workbench.base import WorkbenchScreen
from lmtui.ui.workbench.common import model_select, selected

MAX_CONCURRENCY = 64


def default_output(input_path: Path) -> Path:
    """Where results go when no output file is given: ``NAME.out.jsonl`` beside the input."""
    return input_path.with_name(f"{input_path.stem}.out.jsonl")


def progress_line(p: BatchProgress) -> str:
    """Rows valid (done), invalid, failed and skipped, ETA and speed, in one line."""
    eta = "?" if p.eta_s is None else f"{p.eta_s:.0f}s"
    finished = p.done + p.failed + p.invalid + p.skipped
    return (
        f"{finished}/{p.total} · valid {p.done} · invalid {p.invalid} · failed {p.failed} · "
        f"already done {p.skipped} · {p.rows_per_second:.2f} rows/s · ETA {eta} · "
        f"{p.tokens_per_second:.1f} tok/s"
    )


def servers_text(pool: ServerPool) -> str:
    """One line per server of the run: rows, rows/s, busy slots, or why it is out."""
    lines = []
    for s in pool.servers:
        state = f"OUT: {s.down_reason}" if s.down else f"{s.busy}/{s.slots} slots busy"
        lines.append(f"{s.name}: {s.done} rows · {s.rows_per_second:.2f} rows/s · {state}")
    return make_inert("\n".join(lines))


def row_resolver(
    models: Sequence[Model],
    model: str | None,
    preset: Preset | None,
    presets: PresetSet | None = None,
) -> Callable[[BatchRow], tuple[str, str, SamplingParams]]:
    """Each row's model, system prompt and parameters: the row's own, else the run's."""

    def resolve(row: BatchRow) -> tuple[str, str, SamplingParams]:
        chosen_preset = preset
        if row.preset:
            chosen_preset = presets.get(row.preset) if presets is not None else None
            if chosen_preset is None:
                raise ConfigError(f"No preset named '{row.preset}'.")
        params = chosen_preset.params if chosen_preset is not None else SamplingParams()
        system = chosen_preset.system_prompt if chosen_preset is not None else ""
        chosen = row.model or model
        if not chosen:
            choice = resolve_model(chosen_preset, None, models)
            if choice.model_id is None:
                raise NoModelLoaded(choice.reason)
            chosen = choice.model_id
        return chosen, system, params

    return resolve


class BatchScreen(WorkbenchScreen):
    """Choose an input and output file, a model or preset and concurrency; run or resume."""

    CSS_PATH = Path(__file__).with_name("workbench.tcss")
    TITLE = "Batch"

    def __init__(
        self,
        client: Client,
        models: Sequence[Model],
        *,
        default_model: str | None = None,
        presets: PresetSet | None = None,
    ) -> None:
        super().__init__(client, models, default_model=default_model)
        if presets is None:
            try:
                presets = load_presets()
            except LmtuiError:
                presets = PresetSet(())
        self.presets = presets
        self.progress: BatchProgress | None = None

    def compose(self) -> ComposeResult:
        """The form, then progress."""
        chat = [m for m in self.models if not m.is_embedding]
        preset_options = [(Text(p.name), p.name) for p in self.presets]
        with Vertical(classes="wb-main batch-form"):
            yield Label(
                "Input: .jsonl ('prompt' or 'messages', optional 'model', 'id'), .csv (a "
                "'prompt' column) or text (one prompt per line). Ctrl+R runs; rerun to resume.",
                classes="wb-title",
            )
            with Horizontal(classes="batch-row"):
                yield Label("Input file", classes="batch-label")
                yield Input(placeholder="prompts.jsonl", id="input")
            with Horizontal(classes="batch-row"):
                yield Label("Output file", classes="batch-label")
                yield Input(placeholder="(default: NAME.out.jsonl beside the input)", id="output")
            with Horizontal(classes="batch-row"):
                yield Label("Model", classes="batch-label")
                yield model_select(chat, self.default_model, id="model")
            with Horizontal(classes="batch-row"):
                yield Label("Preset", classes="batch-label")
                yield Select(preset_options, prompt="(none)", id="preset")
            with Horizontal(classes="batch-row"):
                yield Label("Concurrency", classes="batch-label")
                yield Input("2", id="concurrency", type="integer")
            with Horizontal(classes="batch-row"):
                yield Label("Also on", classes="batch-label")
                yield Input(placeholder="other server profiles: a,b (optional)", id="servers")
            yield Static("", id="plan", classes="wb-status", markup=False)
            yield ProgressBar(id="progress", show_eta=False)
            yield Static("", id="status", classes="wb-status", markup=False)
            yield Static("", id="servers-status", classes="wb-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Focus the input path."""
        self.query_one("#input", Input).focus()

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def _paths(self) -> tuple[Path, Path]:
        raw_in = self.query_one("#input", Input).value.strip()
        if not raw_in:
            raise ConfigError("Give the input file.", "Type a path to a .jsonl, .csv or text file.")
        source = Path(raw_in).expanduser()
        raw_out = self.query_one("#output", Input).value.strip()
        out = Path(raw_out).expanduser() if raw_out else default_output(source)
        if out.resolve() == source.resolve():
            raise ConfigError("The output file must not be the input file.")
        return source, out

    @on(Input.Submitted, "#input")
    @on(Input.Submitted, "#output")
    def _check(self) -> None:
        """Say how many rows the input has and how many the output already holds."""
        try:
            source, out = self._paths()
            rows = read_rows(source)
        except LmtuiError as exc:
            self.query_one("#plan", Static).update(exc.message)
            return
        self.query_one("#plan", Static).update(_plan_text(len(rows), rows, out))

    def start(self) -> None:
        """Check the form and run the batch."""
        try:
            source, out = self._paths()
            concurrency = int(self.query_one("#concurrency", Input).value or "2")
        except ValueError:
            self._status("Concurrency must be a whole number.")
            return
        except LmtuiError as exc:
            self._status(exc.message)
            return
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            self._status(f"Concurrency must be between 1 and {MAX_CONCURRENCY}.")
            return
        model = selected(self.query_one("#model", Select))
        preset_name = selected(self.query_one("#preset", Select))
        preset = self.presets.get(preset_name) if preset_name else None
        names = [n.strip() for n in self.query_one("#servers", Input).value.split(",")]
        self.job = self._run(source, out, model, preset, concurrency, [n for n in names if n])

    @work(exclusive=True, group="batch", exit_on_error=False)
    async def _run(
        self,
        source: Path,
        out: Path,
        model: str | None,
        preset: Preset | None,
        concurrency: int,
        extra_servers: list[str],
    ) -> None:
        bar = self.query_one("#progress", ProgressBar)
        try:
            rows = await asyncio.to_thread(read_rows, source)
        except LmtuiError as exc:
            self._status(exc.message)
            return
        self.query_one("#plan", Static).update(_plan_text(len(rows), rows, out))
        bar.update(total=max(len(rows), 1), progress=0)
        resolve = row_resolver(self.models, model, preset, self.presets)
        servers = [PoolServer(self.client.base_url, self.client, resolve, concurrency, "form")]
        extra: list[Client] = []
        try:
            for name, profile in _profiles(extra_servers):
                extra.append(client_for(profile))
                servers.append(PoolServer(name, extra[-1], resolve, concurrency, "form"))
        except LmtuiError as exc:
            self._status(exc.message)
            for c in extra:
                await c.aclose()
            return
        pool = ServerPool(servers)
        settings = BatchSettings(model=model, concurrency=pool.total_slots)

        def show(p: BatchProgress) -> None:
            self.progress = p
            bar.update(total=max(p.total, 1), progress=p.done + p.failed + p.invalid + p.skipped)
            self._status(progress_line(p))
            self.query_one("#servers-status", Static).update(servers_text(pool))

        self._status(f"Running {source.name} → {out}… (Esc stops; rerun resumes)")
        try:
            state = await run_batch(
                self.client,
                rows,
                out,
                settings,
                progress=show,
                asker=pool.ask,
            )
        except asyncio.CancelledError:
            self._status("Stopped. Finished rows are in the output: run again to resume.")
            raise
        except LmtuiError as exc:
            remedy = f" — {exc.remedy}" if exc.remedy else ""
            self._status(f"Batch stopped: {exc.message}{remedy} Rerun to resume.")
            return
        finally:
            for c in extra:
                await c.aclose()
        self.query_one("#servers-status", Static).update(servers_text(pool))
        self.progress = state
        bar.update(total=max(state.total, 1), progress=state.total)
        failed = f"; {state.failed} failed (rerun retries them)" if state.failed else ""
        invalid = f"; {state.invalid} invalid (rerun retries them)" if state.invalid else ""
        self._status(
            f"Finished: {state.done} done, {state.skipped} already done{invalid}{failed} → {out}"
        )


def _plan_text(total: int, rows: list[BatchRow], out: Path) -> str:
    already = {i for i in done_indexes(out) if i < total}
    if not already:
        return f"{total} row(s); the output has none of them yet."
    left = total - len(already)
    return f"{total} row(s); {len(already)} already done in {out.name}: {left} to run."


def _profiles(names: list[str]) -> list[tuple[str, ServerProfile]]:
    """The server profiles named in the form (config file and environment as usual)."""
    if not names:
        return []
    from lmtui.store.config import load_config

    profiles = load_config().profiles()
    found = []
    for name in names:
        profile = profiles.get(name)
        if profile is None or name == "local":
            known = ", ".join(p for p in profiles if p != "local")
            raise ConfigError(f"No server profile '{name}' for the batch (profiles: {known}).")
        found.append((name, profile))
    return found

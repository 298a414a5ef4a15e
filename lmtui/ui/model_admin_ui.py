"""Model management in the app: the load dialog, unloading instances, downloads.

:class:`ModelAdmin` is what the chat screen delegates the sidebar's ``L``, ``U`` and
``D`` to. It talks to the server through :mod:`lmtui.services.model_admin` and
:mod:`lmtui.services.downloads` only, runs loads and downloads in workers (a download
keeps going while you chat, shown in the status line) and asks the screen to refresh
the model list when something changed. Downloads are polled only while one runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual.app import App

from lmtui.backend.downloads import DownloadJob
from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import LoadConfig, Model
from lmtui.services.clients import Client
from lmtui.services.downloads import (
    POLL_INTERVAL_S,
    failure_remedy,
    follow_download,
    start_download,
    state_line,
)
from lmtui.services.model_admin import (
    LoadOutcome,
    RememberedLoadOptions,
    load_with_options,
    unload_instances,
)
from lmtui.ui.download_dialog import DownloadDialog, DownloadTracker, status_text
from lmtui.ui.load_dialog import LoadDialog
from lmtui.ui.sidebar import ModelSidebar
from lmtui.ui.status import StatusLine


class ModelAdmin:
    """Load, unload and download for one app; the client is read at each use.

    Args:
        app: the app (for screens, workers and notifications).
        client: returns the client of the server in use (it changes on a server switch).
        sidebar: returns the model sidebar.
        status: returns the status line.
        changed: called after a load, an unload or a download, to re-read the models.
    """

    def __init__(
        self,
        app: App[Any],
        *,
        client: Callable[[], Client],
        sidebar: Callable[[], ModelSidebar],
        status: Callable[[], StatusLine],
        changed: Callable[[], object],
    ) -> None:
        self.app = app
        self._client = client
        self._sidebar = sidebar
        self._status = status
        self._changed = changed
        self.tracker = DownloadTracker()
        self.tracker.listen(self._show_in_status)
        self.remembered = RememberedLoadOptions()
        self.poll_interval = POLL_INTERVAL_S

    # ---- load -------------------------------------------------------------------

    def open_load(self, model: Model) -> None:
        """Open the load dialog for ``model``, pre-filled with its remembered options."""

        async def load(options: LoadConfig) -> LoadOutcome:
            sidebar = self._sidebar()
            sidebar.set_loading(model.id, True)
            try:
                outcome = await load_with_options(self._client(), model.id, options)
            finally:
                sidebar.set_loading(model.id, False)
            self.remembered.put(model.id, options)
            self.app.notify(outcome.summary(), markup=False)
            self._changed()
            return outcome

        self.app.push_screen(LoadDialog(model, self.remembered.get(model.id), load))

    # ---- unload -----------------------------------------------------------------

    def unload(self, model: Model, instance_ids: Sequence[str]) -> None:
        """Unload the given instances of ``model`` in a worker."""
        ids = list(instance_ids) or [model.id]
        self.app.run_worker(self._unload(model, ids), group="model-admin", exit_on_error=False)

    async def _unload(self, model: Model, ids: list[str]) -> None:
        sidebar = self._sidebar()
        sidebar.set_busy(f"Unloading {model.label}…")
        try:
            done = await unload_instances(self._client(), ids)
        except LmtuiError as exc:
            self.app.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
        else:
            self.app.notify(f"Unloaded {', '.join(done)}", markup=False)
        finally:
            sidebar.set_busy(None)
        self._changed()

    # ---- download ---------------------------------------------------------------

    def open_download(self) -> None:
        """Open the download dialog (it shows the running download, if any)."""
        self.app.push_screen(DownloadDialog(self.tracker, self.start_download))

    def start_download(self, model: str, quantization: str | None) -> None:
        """Start downloading ``model`` and follow it in a worker until it ends."""
        self.app.run_worker(
            self._download(model, quantization),
            group="download",
            exclusive=True,
            exit_on_error=False,
        )

    async def _download(self, model: str, quantization: str | None) -> None:
        client = self._client()
        try:
            job = await start_download(client, model, quantization=quantization)
            async for update in follow_download(client, job, interval=self.poll_interval):
                self.tracker.update(update)
                job = update
        except LmtuiError as exc:
            self._status().set(download="")
            self.app.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
            return
        if job.succeeded:
            self.app.notify(state_line(job), markup=False)
            self._changed()
        else:
            self.app.notify(
                f"{state_line(job)}\n{failure_remedy(job)}", severity="error", markup=False
            )

    def _show_in_status(self, job: DownloadJob) -> None:
        # A finished download is announced once (a notification); the status line clears.
        self._status().set(download="" if job.finished else status_text(job))

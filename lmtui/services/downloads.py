"""Model downloads (LM Studio 0.4): start one, follow it, say how it goes.

LM Studio's API can start a download and report on it but not cancel it: stopping the
watch (Ctrl-C, closing the dialog) leaves the download running in LM Studio, and every
message that offers to stop says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from lmtui.backend.downloads import DownloadJob
from lmtui.services.clients import Client
from lmtui.services.lost_cancel import raise_a_lost_cancellation
from lmtui.services.model_admin import human_size

POLL_INTERVAL_S = 1.0
CONTINUES_IN_LMSTUDIO = (
    "LM Studio's API cannot cancel a download: it continues in LM Studio "
    "(cancel it in LM Studio's Downloads panel)."
)

Sleep = Callable[[float], Awaitable[None]]


def human_rate(bytes_per_second: float) -> str:
    """``12.5 MB/s``."""
    return f"{human_size(int(bytes_per_second))}/s"


def human_duration(seconds: float) -> str:
    """``45 s``, ``3 min 05 s``, ``2 h 10 min``."""
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_bar(fraction: float | None, width: int = 24) -> str:
    """A text bar ``[#########---------]``; an empty bar when the size is unknown."""
    filled = round((fraction or 0.0) * width)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def progress_text(job: DownloadJob) -> str:
    """Bytes, speed and ETA in one short line: ``1.2 GB / 4.0 GB · 50.0 MB/s · 56 s left``."""
    parts: list[str] = []
    if job.total_bytes:
        done = job.downloaded_bytes or 0
        if job.status == "completed":
            done = job.total_bytes
        parts.append(f"{human_size(done)} / {human_size(job.total_bytes)}")
    elif job.downloaded_bytes:
        parts.append(human_size(job.downloaded_bytes))
    if job.status == "downloading" and job.bytes_per_second:
        parts.append(human_rate(job.bytes_per_second))
    eta = job.eta_seconds()
    if eta is not None:
        parts.append(f"{human_duration(eta)} left")
    return " · ".join(parts)


def state_line(job: DownloadJob) -> str:
    """One line for a status change (logs, pipes, the TUI's notifications)."""
    if job.status == "already_downloaded":
        return f"{job.model}: already downloaded."
    if job.status == "completed":
        size = f" ({human_size(job.total_bytes)})" if job.total_bytes else ""
        return f"{job.model}: downloaded{size}."
    if job.status == "failed":
        why = f": {job.error}" if job.error else ""
        return f"{job.model}: the download failed{why}."
    detail = progress_text(job)
    percent = f" {job.fraction * 100:.0f}%" if job.fraction is not None else ""
    return f"{job.model}: {job.status}{percent}" + (f" · {detail}" if detail else "")


def progress_line(job: DownloadJob, width: int = 24) -> str:
    """The live line for a terminal: ``model [####----] 42% 1.2 GB / 4.0 GB · … left``."""
    if job.finished:
        return state_line(job)
    percent = f"{job.fraction * 100:3.0f}%" if job.fraction is not None else " ..."
    detail = progress_text(job)
    return f"{job.model} {progress_bar(job.fraction, width)} {percent} {job.status}" + (
        f" · {detail}" if detail else ""
    )


def failure_remedy(job: DownloadJob) -> str:
    """What to do after a failed download."""
    return (
        "Check the disk space and the network on the LM Studio machine, then retry; "
        "LM Studio's Downloads panel and its server log say more."
    )


async def start_download(
    client: Client, model: str, *, quantization: str | None = None
) -> DownloadJob:
    """Ask the server to download ``model`` (a catalog id or a Hugging Face URL)."""
    return await client.download_model(model.strip(), quantization=quantization)


async def follow_download(
    client: Client,
    job: DownloadJob,
    *,
    interval: float = POLL_INTERVAL_S,
    sleep: Sleep = asyncio.sleep,
) -> AsyncIterator[DownloadJob]:
    """Yield ``job`` and then its status every ``interval`` seconds until it is finished.

    Polls only while a download runs; stopping the iteration stops the polling (the
    download itself continues in LM Studio).
    """
    yield job
    while not job.finished and job.job_id is not None:
        await sleep(interval)
        raise_a_lost_cancellation()
        job = await client.download_status(job.model, job.job_id)
        raise_a_lost_cancellation()
        yield job


def status_changed(before: DownloadJob | None, after: DownloadJob) -> bool:
    """True when ``after`` is in a different state than ``before`` (for one-line-per-state)."""
    return before is None or before.status != after.status

"""LM Studio 0.4's download jobs (``/api/v1/models/download``) as typed values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lmtui.backend.types import opt_int

# Statuses after which a job never changes again.
FINAL_STATUSES = frozenset({"completed", "failed", "already_downloaded"})


@dataclass(frozen=True, slots=True)
class DownloadJob:
    """One download as the server last described it.

    ``status`` is the server's word: ``downloading``, ``paused``, ``completed``,
    ``failed`` or ``already_downloaded`` (then there is no ``job_id``); an unknown
    word such as ``queued`` is kept as sent.
    """

    model: str
    status: str
    job_id: str | None = None
    total_bytes: int | None = None
    downloaded_bytes: int | None = None
    bytes_per_second: float | None = None
    estimated_completion: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None  # what the server said went wrong, when it failed

    @property
    def finished(self) -> bool:
        """True once the job can no longer change (completed, failed, already there)."""
        return self.status in FINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        """True when the model is on the server's disk."""
        return self.status in ("completed", "already_downloaded")

    @property
    def fraction(self) -> float | None:
        """Downloaded share of the total, 0..1, when both sizes are known."""
        if self.status == "completed":
            return 1.0
        if not self.total_bytes or self.downloaded_bytes is None:
            return None
        return max(0.0, min(1.0, self.downloaded_bytes / self.total_bytes))

    def eta_seconds(self, now: datetime | None = None) -> float | None:
        """Seconds left: from the server's estimate, else from the bytes and the speed."""
        if self.status != "downloading":
            return None
        if self.estimated_completion is not None:
            ref = now or datetime.now(self.estimated_completion.tzinfo)
            return max(0.0, (self.estimated_completion - ref).total_seconds())
        if self.bytes_per_second and self.total_bytes and self.downloaded_bytes is not None:
            return max(0, self.total_bytes - self.downloaded_bytes) / self.bytes_per_second
        return None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form for ``--json`` output."""
        return {
            "model": self.model,
            "job_id": self.job_id,
            "status": self.status,
            "total_size_bytes": self.total_bytes,
            "downloaded_bytes": self.downloaded_bytes,
            "bytes_per_second": self.bytes_per_second,
            "estimated_completion": _iso(self.estimated_completion),
            "started_at": _iso(self.started_at),
            "completed_at": _iso(self.completed_at),
            "error": self.error,
        }


def parse_download(model: str, raw: object, *, job_id: str | None = None) -> DownloadJob:
    """Build a :class:`DownloadJob` from a download or status answer.

    ``job_id`` is the id asked about, used when the answer leaves it out.
    """
    data = raw if isinstance(raw, dict) else {}
    status = data.get("status")
    found_id = data.get("job_id")
    speed = data.get("bytes_per_second")
    return DownloadJob(
        model=model,
        status=status if isinstance(status, str) and status else "unknown",
        job_id=found_id if isinstance(found_id, str) and found_id else job_id,
        total_bytes=opt_int(data.get("total_size_bytes")),
        downloaded_bytes=opt_int(data.get("downloaded_bytes")),
        bytes_per_second=float(speed)
        if isinstance(speed, int | float) and not isinstance(speed, bool)
        else None,
        estimated_completion=_time(data.get("estimated_completion")),
        started_at=_time(data.get("started_at")),
        completed_at=_time(data.get("completed_at")),
        error=_error_text(data),
    )


def _time(value: object) -> datetime | None:
    """An ISO 8601 time as LM Studio writes it (``2025-10-03T15:33:23.496Z``)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _error_text(data: dict[str, object]) -> str | None:
    for key in ("error", "message", "reason"):
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str) and value:
            return value
    return None

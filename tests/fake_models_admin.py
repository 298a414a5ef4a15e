"""Model management for the fake LM Studio server: instances, load configs, downloads, JIT.

Hooked into :mod:`tests.fake_server` with a few lines; everything here works on the
``FakeServer`` it is given and its :class:`AdminState` (``srv.admin``). Shapes follow LM
Studio's REST docs (``/api/v1/models/load``, ``/unload``, ``/download``,
``/download/status/{job_id}``):

- Loading an already loaded model adds an instance (``key:2``, ``key:3``…), each with its
  own config; ``echo_load_config`` answers with the applied config under ``load_config``.
- A download is a job that moves one step per status request (never by the clock, so tests
  need no sleeps): ``queued`` → ``downloading`` with growing bytes → ``completed`` (the
  model is then listed) or ``failed``. A model the server already has answers
  ``{"status": "already_downloaded"}``.
- With JIT loading off, ``/api/v0/models`` and ``/v1/models`` list only loaded models
  (``/api/v1/models`` still lists everything), as LM Studio does.
- A model can be shown "loading": ``state: "loading"`` in ``/api/v0`` and an instance with
  ``status: "loading"`` in ``/api/v1``. LM Studio's docs do not describe an in-progress
  instance; this is the shape lmtui accepts, not a documented one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fake_server import FakeModel, FakeServer

JSON = dict[str, Any]

DEFAULT_EVAL_BATCH = 512
DOWNLOAD_SPEED = 50_000_000  # bytes per second reported while downloading
STARTED_AT = "2026-11-30T09:00:00.000Z"


@dataclass
class FakeInstance:
    """One loaded copy of a model with the config it was loaded with."""

    id: str
    config: JSON
    loading: bool = False


@dataclass
class CatalogEntry:
    """A model the fake can download: what it becomes once downloaded, and how it goes."""

    model: FakeModel
    steps: int = 4  # status requests from 0 bytes to completion
    fail_at: int | None = None  # the status request (1-based) that reports "failed"
    start_status: str = "queued"


@dataclass
class FakeJob:
    """A download job in progress."""

    job_id: str
    entry: CatalogEntry
    polls: int = 0
    status: str = "queued"

    @property
    def total(self) -> int:
        return self.entry.model.size_bytes


@dataclass
class AdminState:
    """Per-server model-management state (``srv.admin``)."""

    instances: dict[str, list[FakeInstance]] = field(default_factory=dict)
    jit_listing: bool = True  # False: /api/v0 and /v1 list only loaded models
    loading: set[str] = field(default_factory=set)
    catalog: dict[str, CatalogEntry] = field(default_factory=dict)
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    load_time_s: float = 1.25


# ---- scripting helpers for tests --------------------------------------------------------


def set_jit(srv: FakeServer, on: bool) -> None:
    """Turn the fake's JIT loading on or off: both the listings and load-on-request."""
    srv.jit = on
    srv.admin.jit_listing = on


def add_catalog(srv: FakeServer, key: str, model: FakeModel, **how: Any) -> CatalogEntry:
    """Make ``key`` (a catalog id or Hugging Face URL) downloadable as ``model``."""
    entry = CatalogEntry(model, **how)
    with srv.lock:
        srv.admin.catalog[key] = entry
    return entry


def mark_loading(srv: FakeServer, model_id: str, loading: bool = True) -> None:
    """Show a model as being loaded (or not any more)."""
    with srv.lock:
        if loading:
            srv.admin.loading.add(model_id)
        else:
            srv.admin.loading.discard(model_id)


# ---- listings ---------------------------------------------------------------------------


def instances_of(srv: FakeServer, m: FakeModel) -> list[FakeInstance]:
    """The loaded instances of ``m``: the ones loaded through the API, else one default."""
    if not m.loaded:
        return []
    tracked = srv.admin.instances.get(m.id)
    if tracked:
        return tracked
    return [FakeInstance(m.id, {"context_length": m.context_when_loaded})]


def v1_instances(srv: FakeServer, m: FakeModel) -> list[JSON]:
    """``loaded_instances`` of an ``/api/v1/models`` entry."""
    out: list[JSON] = [{"id": i.id, "config": dict(i.config)} for i in instances_of(srv, m)]
    if m.id in srv.admin.loading:
        out.append({"id": m.id, "config": {}, "status": "loading"})
    return out


def v0_state(srv: FakeServer, m: FakeModel) -> str:
    """``state`` of an ``/api/v0/models`` entry."""
    if m.id in srv.admin.loading:
        return "loading"
    return "loaded" if m.loaded else "not-loaded"


def listed(srv: FakeServer, models: list[FakeModel]) -> list[FakeModel]:
    """The models ``/api/v0`` and ``/v1`` list: all, or only loaded ones with JIT off."""
    if srv.admin.jit_listing:
        return list(models)
    return [m for m in models if m.loaded]


# ---- load and unload --------------------------------------------------------------------


def _error(status: int, message: str, code: str | None = None) -> tuple[int, JSON]:
    return status, {"error": {"message": message, "type": "invalid_request_error", "code": code}}


def load(srv: FakeServer, body: object) -> tuple[int, JSON]:
    """Answer ``POST /api/v1/models/load``: a new instance with the applied config."""
    req = body if isinstance(body, dict) else {}
    model_id = str(req.get("model") or "")
    with srv.lock:
        m = srv.model(model_id)
        if m is None:
            return _error(
                404,
                f'Invalid model identifier "{model_id}". Please specify a valid downloaded model.',
                "model_not_found",
            )
        ctx = req.get("context_length")
        if ctx is not None and (not isinstance(ctx, int) or ctx < 1):
            return _error(400, "'context_length' must be a positive integer")
        if isinstance(ctx, int) and ctx > m.max_context_length:
            return _error(
                400,
                f"context_length {ctx} exceeds the model's maximum of {m.max_context_length}",
            )
        config: JSON = {"context_length": ctx or min(m.max_context_length, 4096)}
        if m.type != "embeddings":
            # The llama.cpp engine's options, with its defaults where none was asked for.
            config["eval_batch_size"] = req.get("eval_batch_size") or DEFAULT_EVAL_BATCH
            config["flash_attention"] = bool(req.get("flash_attention", False))
            config["offload_kv_cache_to_gpu"] = bool(req.get("offload_kv_cache_to_gpu", True))
            if req.get("num_experts") is not None:
                config["num_experts"] = req["num_experts"]
        tracked = srv.admin.instances.setdefault(m.id, [])
        if not tracked and m.loaded:
            # The instance the model was listed with (loaded before the fake tracked it).
            tracked.append(FakeInstance(m.id, {"context_length": m.context_when_loaded}))
        taken = {i.id for i in tracked}
        instance_id = m.id
        n = 2
        while instance_id in taken:
            instance_id = f"{m.id}:{n}"
            n += 1
        tracked.append(FakeInstance(instance_id, config))
        if not m.loaded:
            m.loaded_context_length = config["context_length"]
        m.loaded = True
        srv.admin.loading.discard(m.id)
        answer: JSON = {
            "type": "embedding" if m.type == "embeddings" else "llm",
            "instance_id": instance_id,
            "load_time_seconds": srv.admin.load_time_s,
            "status": "loaded",
        }
        if req.get("echo_load_config") is True:
            answer["load_config"] = dict(config)
    return 200, answer


def unload(srv: FakeServer, body: object) -> tuple[int, JSON]:
    """Answer ``POST /api/v1/models/unload`` for one instance id."""
    req = body if isinstance(body, dict) else {}
    instance = str(req.get("instance_id") or "")
    with srv.lock:
        for m in srv.models:
            current = instances_of(srv, m)
            if any(i.id == instance for i in current):
                left = [i for i in current if i.id != instance]
                srv.admin.instances[m.id] = left
                if not left:
                    m.loaded = False
                    m.loaded_context_length = None
                else:
                    m.loaded_context_length = left[0].config.get("context_length")
                return 200, {"instance_id": instance}
    return _error(404, f'No loaded model instance "{instance}".', "model_not_found")


# ---- downloads --------------------------------------------------------------------------


def download(srv: FakeServer, body: object) -> tuple[int, JSON]:
    """Answer ``POST /api/v1/models/download``: a new job, or ``already_downloaded``."""
    req = body if isinstance(body, dict) else {}
    key = str(req.get("model") or "")
    with srv.lock:
        entry = srv.admin.catalog.get(key)
        have = srv.model(entry.model.id if entry else key)
        if have is not None:
            return 200, {"status": "already_downloaded"}
        if entry is None:
            return _error(404, f"Could not find a model to download for '{key}'.")
        job_id = "job_" + hashlib.sha1(f"{key}{len(srv.admin.jobs)}".encode()).hexdigest()[:10]
        job = FakeJob(job_id, entry, status=entry.start_status)
        srv.admin.jobs[job_id] = job
        return 200, _job_json(job)


def download_status(srv: FakeServer, job_id: str) -> tuple[int, JSON]:
    """Answer ``GET /api/v1/models/download/status/{job_id}``, moving the job one step."""
    with srv.lock:
        job = srv.admin.jobs.get(job_id)
        if job is None:
            return _error(404, f"No download job with id '{job_id}'.")
        if job.status not in ("completed", "failed"):
            job.polls += 1
            entry = job.entry
            if entry.fail_at is not None and job.polls >= entry.fail_at:
                job.status = "failed"
            elif job.polls >= entry.steps:
                job.status = "completed"
                if srv.model(entry.model.id) is None:
                    srv.models.append(entry.model)
            else:
                job.status = "downloading"
        return 200, _job_json(job)


def _job_json(job: FakeJob) -> JSON:
    steps = max(1, job.entry.steps)
    done = {
        "queued": 0,
        "completed": job.total,
    }.get(job.status, job.total * min(job.polls, steps) // steps)
    out: JSON = {
        "job_id": job.job_id,
        "status": job.status,
        "total_size_bytes": job.total,
        "downloaded_bytes": done,
        "started_at": STARTED_AT,
    }
    if job.status == "downloading":
        left = (job.total - done) / DOWNLOAD_SPEED
        eta = datetime.now(UTC) + timedelta(seconds=left)
        out["bytes_per_second"] = DOWNLOAD_SPEED
        out["estimated_completion"] = eta.isoformat().replace("+00:00", "Z")
    if job.status == "completed":
        out["completed_at"] = "2026-11-30T09:00:08.000Z"
    return out

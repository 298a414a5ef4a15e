"""Child process that runs llama.cpp's server (via ``xllamacpp``) for :mod:`local_server`.

Run as ``python -m lmtui.services.llama_child --model PATH --port N --ctx N --parallel N``.
It prints exactly one JSON line on stdout when the server listens
(``{"base_url": ..., "model_id": ...}``); everything else (llama.cpp logs a lot)
goes to stderr, which the parent points at a log file.

It never outlives its parent: a watchdog thread exits when the stdin pipe from
the parent reaches end-of-file, the main loop checks that the parent pid is
unchanged, and on Linux the kernel sends a signal when the parent dies
(``PR_SET_PDEATHSIG``). SIGTERM and SIGINT stop the server and exit 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

# The kernel's parent-death signal fires when the *thread* that spawned us exits,
# which may be a worker thread of a living parent; a separate signal lets us check
# whether the parent is really gone before stopping.
_PDEATH_SIGNAL = getattr(signal, "SIGUSR1", None)
_PR_SET_PDEATHSIG = 1
POLL_S = 0.5


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The child's command line."""
    p = argparse.ArgumentParser(prog="python -m lmtui.services.llama_child")
    p.add_argument("--model", required=True, help="GGUF file to serve")
    p.add_argument("--port", type=int, default=0, help="port (0 = a free one)")
    p.add_argument("--ctx", type=int, default=4096, help="context length per request")
    p.add_argument("--parallel", type=int, default=4, help="concurrent request slots")
    p.add_argument("--alias", default=None, help="model id shown in /v1/models")
    p.add_argument("--parent-pid", type=int, default=None, help="pid of the process to follow")
    return p.parse_args(argv)


def _parent_gone(parent_pid: int | None) -> bool:
    return parent_pid is not None and os.getppid() != parent_pid


def _request_parent_death_signal() -> None:
    """Ask Linux to signal us when our parent dies (no-op elsewhere)."""
    if not sys.platform.startswith("linux") or _PDEATH_SIGNAL is None:
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(_PDEATH_SIGNAL), 0, 0, 0)


class _Stopper:
    """Collects every reason to stop; exits at once if the server is not up yet."""

    def __init__(self, parent_pid: int | None) -> None:
        self.parent_pid = parent_pid
        self.event = threading.Event()
        self.serving = False

    def stop(self, *, parent_died: bool = False) -> None:
        if parent_died and not self.serving:
            # Still loading the model: nothing to shut down cleanly, and nobody waits.
            os._exit(0)
        self.event.set()

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == _PDEATH_SIGNAL:
            if _parent_gone(self.parent_pid):
                self.stop(parent_died=True)
            return
        self.event.set()

    def watch_stdin(self) -> None:
        """Block on the parent's pipe; its end-of-file means the parent is gone."""
        # The raw fd, not sys.stdin: a daemon thread blocked inside a buffered
        # reader makes interpreter shutdown abort.
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        self.stop(parent_died=True)


def _build_params(args: argparse.Namespace) -> object:
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = args.model
    params.port = args.port
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    # One shared KV cache: every request may use the whole context instead of
    # ctx / parallel tokens each.
    params.kv_unified = True
    params.embedding = True
    params.pooling_type = 1  # mean pooling -> OpenAI-shaped /v1/embeddings
    if args.alias:
        params.model_alias = {args.alias}
    return params


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until told to stop; return the exit code."""
    args = parse_args(argv)
    stopper = _Stopper(args.parent_pid)
    _request_parent_death_signal()
    if _parent_gone(args.parent_pid):
        return 0
    signal.signal(signal.SIGTERM, stopper.on_signal)
    signal.signal(signal.SIGINT, stopper.on_signal)
    if _PDEATH_SIGNAL is not None:
        signal.signal(_PDEATH_SIGNAL, stopper.on_signal)
    threading.Thread(target=stopper.watch_stdin, name="parent-watchdog", daemon=True).start()

    # Keep the pipe to the parent for the ready line alone; anything native code
    # prints on stdout lands in the log with stderr.
    ready = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)

    try:
        import xllamacpp as xlc

        server = xlc.Server(_build_params(args))
        base_url = str(server.listening_address)
    except Exception as exc:
        print(f"lmtui: the llama.cpp server did not start: {exc}", file=sys.stderr, flush=True)
        return 1
    stopper.serving = True
    try:
        if not stopper.event.is_set():
            model_id = args.alias or args.model
            try:
                ready.write(json.dumps({"base_url": base_url, "model_id": model_id}) + "\n")
                ready.close()
            except OSError:  # the parent stopped listening: it is gone or gave up on us
                stopper.event.set()
            while not stopper.event.wait(POLL_S):
                if _parent_gone(args.parent_pid):
                    break
    finally:
        del server
    print("lmtui: the llama.cpp server stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

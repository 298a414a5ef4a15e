"""Load the reply renderer while the user types the first prompt, not when its reply comes.

The app starts without Markdown and syntax highlighting (issue 19, a lean start), so the
first reply used to pay for them: importing markdown-it, Rich's Markdown and Pygments
and building the first code block's lexer took 35–60 ms in the middle of the stream
(benchmarks/README.md, "TUI ÷ wire"). A moment after the first frame a daemon thread
imports them and draws a small document off screen, so the first reply finds them ready.
"""

from __future__ import annotations

import gc
import io
import threading
from collections.abc import Callable

# After the first frame, so the start itself stays lean (tests/test_lean_start.py).
WARM_UP_DELAY_SECONDS = 0.25

# What a typical reply holds: a heading, emphasis, a list, inline code, a fenced block.
SAMPLE = """# Title

Some *emphasis*, **strong** text and `code`.

- an item
- another

```python
def answer() -> int:
    return 42
```
"""


def warm_up_markdown(still_running: Callable[[], bool] = lambda: True) -> bool:
    """Import the reply renderer and draw :data:`SAMPLE` into a private console.

    Args:
        still_running: whether the app is still running; the loaded modules are kept
            out of garbage collections only then (an app that ended thawed its objects).

    Returns:
        True when it ran; False when something failed (the first reply then loads
        what it needs itself, as it did before).
    """
    try:
        from rich.console import Console

        from lmtui.ui.chat_markdown import ChatMarkdown

        console = Console(
            file=io.StringIO(), width=80, force_terminal=True, color_system="truecolor"
        )
        console.print(ChatMarkdown(SAMPLE))
        import lmtui.backend.aio_stream  # noqa: F401  the replies' transport: aiohttp, ~130 ms
        from lmtui.backend.fast_json import stream_loads

        stream_loads()  # and their JSON decoder: orjson, ~10 ms
    except Exception:  # never let a warm-up break the app
        return False
    if still_running():
        # The modules just loaded live as long as the app: keep them out of collections,
        # as the start-up objects are (ui/gc_tuning.py).
        gc.freeze()
    return True


def start_warm_up(still_running: Callable[[], bool]) -> threading.Thread:
    """Run :func:`warm_up_markdown` in a daemon thread; returns the started thread."""
    thread = threading.Thread(
        target=warm_up_markdown, args=(still_running,), name="lmtui-warm-up", daemon=True
    )
    thread.start()
    return thread

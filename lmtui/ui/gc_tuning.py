"""The garbage collector, tuned for a long-running terminal app.

After start-up the process holds a few hundred thousand long-lived objects (Textual,
Rich, the screens, their styles). CPython's full collection walks all of them: the
first one after start-up paused the app for 80-100 ms, typically in the middle of the
first reply (docs/rendering.md, "The end of a fast reply"). Moving them into the
permanent generation once the first screen is drawn takes them out of every later
collection; they live as long as the app anyway.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Exclude every object alive now from later collections (call once, after start-up)."""
    gc.freeze()

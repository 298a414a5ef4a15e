"""The garbage collector, tuned for a long-running terminal app.

After start-up the process holds a few hundred thousand long-lived objects (Textual,
Rich, the screens, their styles). CPython's full collection walks all of them: the
first one after start-up paused the app for 80-100 ms, typically in the middle of the
first reply (docs/rendering.md, "Close to the wire"). Moving them into the permanent
generation once the first screen is drawn takes them out of every later collection;
they live as long as the app anyway. When the app ends they are handed back, so a
process that runs several apps (the test suite) does not keep the garbage of each.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Exclude every object alive now from later collections (after start-up)."""
    gc.freeze()


def thaw_objects() -> None:
    """Return the frozen objects to the collector (when the app ends)."""
    gc.unfreeze()

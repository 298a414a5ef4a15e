"""Starting the terminal app from the command line."""

from __future__ import annotations

import argparse
import gc


def run_tui(args: argparse.Namespace) -> int:
    """Open the TUI with the effective config (imports Textual only now).

    Garbage collection waits until the first frame is on screen
    (:meth:`lmtui.ui.app.LmtuiApp.on_ready` turns it back on): the start allocates
    hundreds of thousands of long-lived objects, and collecting among them cost about
    a tenth of the time to the first frame (benchmarks/README.md, "Startup").
    """
    from lmtui.cli.common import load_effective_config
    from lmtui.ui.launch import launch

    gc.disable()
    try:
        cfg = load_effective_config(args)
        return launch(args, cfg)
    finally:
        gc.enable()

"""Starting the terminal app from the command line."""

from __future__ import annotations

import argparse
import gc


def run_tui(args: argparse.Namespace) -> int:
    """Open the TUI with the effective config (imports Textual only now).

    Garbage collection is off while the modules load and the app is built:
    :func:`lmtui.ui.launch.launch` freezes what exists then (it lives as long as the
    app) and turns collection back on just before the app runs. Collecting among those
    long-lived objects cost about a tenth of the time to the first frame
    (benchmarks/README.md, "Startup").
    """
    from lmtui.cli.common import load_effective_config
    from lmtui.ui.launch import launch

    gc.disable()
    try:
        cfg = load_effective_config(args)
        return launch(args, cfg)
    finally:
        gc.enable()

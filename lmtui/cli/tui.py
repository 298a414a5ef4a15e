"""Starting the terminal app from the command line."""

from __future__ import annotations

import argparse


def run_tui(args: argparse.Namespace) -> int:
    """Open the TUI with the effective config (imports Textual only now)."""
    from lmtui.cli.common import load_effective_config
    from lmtui.ui.launch import launch

    cfg = load_effective_config(args)
    return launch(args, cfg)

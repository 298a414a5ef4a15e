"""Use cases shared by the TUI and the CLI (no Textual here)."""

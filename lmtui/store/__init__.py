"""Files lmtui keeps: config, presets, history (no Textual here)."""

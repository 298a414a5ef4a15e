"""The built-in theme files (TOML, one theme each) shipped with lmtui."""

"""``python -m lmtui``."""

from lmtui.cli import main

raise SystemExit(main())

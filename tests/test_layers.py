"""The core layers never import Textual: headless commands start fast and test without a TTY."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CORE = ("lmtui.backend", "lmtui.store", "lmtui.services")

# Runs in a fresh interpreter so nothing the test session imported can hide a leak.
PROBE = """
import importlib, json, pkgutil, sys
imported = []
for name in {core!r}:
    package = importlib.import_module(name)
    imported.append(name)
    for info in pkgutil.walk_packages(package.__path__, prefix=name + "."):
        importlib.import_module(info.name)
        imported.append(info.name)
leaks = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(json.dumps({{"imported": imported, "textual": leaks}}))
"""


def test_core_layers_do_not_import_textual() -> None:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(core=CORE)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["textual"] == [], f"textual imported by the core: {report['textual']}"
    # The walk really reached the submodules, not just the package roots.
    assert "lmtui.backend.client" in report["imported"]
    assert "lmtui.store.config" in report["imported"]
    assert any(m.startswith("lmtui.services.") for m in report["imported"])

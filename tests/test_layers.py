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


# ---- imports read from the source: function-local imports count too ---------------

PACKAGE = Path(__file__).resolve().parent.parent / "lmtui"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code (``from a import b``: a and a.b)."""
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _package_modules(package: str) -> dict[str, Path]:
    folder = PACKAGE.parent.joinpath(*package.split("."))
    return {_module_name(p): p for p in folder.rglob("*.py")}


def test_ui_and_cli_do_not_import_the_backend_client() -> None:
    # They talk to services; backend types and errors stay allowed.
    offenders = {
        name: sorted(
            m
            for m in _imports(path)
            if m.startswith(("lmtui.backend.client", "lmtui.backend.sync_client"))
        )
        for package in ("lmtui.ui", "lmtui.cli")
        for name, path in _package_modules(package).items()
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert "lmtui.ui.app" in {n for p in ("lmtui.ui",) for n in _package_modules(p)}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in ``graph``, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_store_has_no_import_cycle() -> None:
    modules = _package_modules("lmtui.store")
    graph = {
        name: {m for m in _imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }
    assert "lmtui.store.presets" in graph and "lmtui.store.history" in graph
    assert _cycle(graph) is None


# ---- history changes go through lmtui.services.history_ops -------------------------

# The store's mutating history methods; the UI and the CLI reach them only through the service.
HISTORY_MUTATORS = frozenset(
    {"rename", "delete_conversation", "restore_conversation", "purge_deleted", "import_file"}
)


def _method_calls(path: Path, names: frozenset[str]) -> list[str]:
    """``attr@line`` for each call ``x.attr(...)`` in ``path`` whose ``attr`` is in ``names``."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in names
        ):
            found.append(f"{node.func.attr}@{node.lineno}")
    return found


def test_method_call_finder_sees_calls(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f(store):\n    store.history.rename(1, 'x')\n    rename(1)\n")
    assert _method_calls(sample, HISTORY_MUTATORS) == ["rename@2"]


def test_ui_and_cli_change_history_through_the_service() -> None:
    # Path.rename and friends would match too: none is used in these packages today.
    offenders = {
        name: calls
        for package in ("lmtui.ui", "lmtui.cli")
        for name, path in _package_modules(package).items()
        if (calls := _method_calls(path, HISTORY_MUTATORS))
    }
    assert offenders == {}


# ---- history writes in the TUI go through the history worker -----------------------

# What writes history: the store's methods, the service's functions and CompareRun.keep.
HISTORY_WRITES = HISTORY_MUTATORS | {
    "create_conversation",
    "add_message",
    "update_message",
    "delete_message",
    "begin_reply",
    "save_reply_facts",
    "save_draft",
    "clear_draft",
    "import_conversations",
    "rename_conversation",
    "purge_trash",
    "keep",
}
# Calls whose lambda argument runs on the history worker, off the event loop.
WORKER_ENTRIES = frozenset({"queue_change", "submit"})
# The chokepoint itself: it runs a change inline only when there is no worker at all.
WRITES_CHOKEPOINT = "lmtui.ui.history_writes"


def _called_name(node: object) -> str | None:
    import ast

    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute):
            return func.attr
        if isinstance(func, ast.Name):
            return func.id
    return None


def _writes_on_the_loop(path: Path) -> list[str]:
    """``name@line`` for each history write in ``path`` not inside a worker job.

    A worker job is a lambda given to ``queue_change(...)`` or ``<worker>.submit(...)``.
    """
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        name = _called_name(node)
        if name not in HISTORY_WRITES:
            continue
        inside_job = False
        child, parent = node, parents.get(node)
        while parent is not None:
            if isinstance(child, ast.Lambda) and _called_name(parent) in WORKER_ENTRIES:
                inside_job = True
                break
            child, parent = parent, parents.get(parent)
        if not inside_job:
            found.append(f"{name}@{node.lineno}")  # type: ignore[attr-defined]
    return found


def test_the_worker_finder_sees_writes_outside_jobs(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(app, store, w):\n"
        "    store.add_message(1, 'user', 'x')\n"
        "    queue_change(app, store, 'r', lambda s: rename_conversation(s, 1, 't'))\n"
        "    w.submit('d', lambda s: s.save_draft('k', 'x'), key='k')\n"
        "    w.submit('d', save_draft('k', 'x'))\n"
    )
    assert _writes_on_the_loop(sample) == ["add_message@2", "save_draft@5"]


def test_ui_writes_history_only_through_the_worker() -> None:
    # A write on the event loop waits out the busy timeout whenever another process
    # holds the database lock; queued on the worker it never stalls keys or frames.
    offenders = {
        name: calls
        for name, path in _package_modules("lmtui.ui").items()
        if name != WRITES_CHOKEPOINT and (calls := _writes_on_the_loop(path))
    }
    assert offenders == {}

"""``lmtui presets``: list and show presets (built-in and the user's files)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from lmtui.cli.common import SUPPRESS, add_subcommand, print_json
from lmtui.cli.output import say, warn

if TYPE_CHECKING:
    from lmtui.store.presets import Preset, PresetSet


def register(sub: Any) -> None:
    """Add ``presets`` (with ``list`` and ``show``) to the subcommands."""
    p = add_subcommand(
        sub,
        "presets",
        "list and show presets (system prompt, preferred models, parameters)",
        description="Presets bundle a system prompt, preferred models and sampling parameters. "
        "User presets are TOML files in the presets directory (see docs/presets.md).",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    actions = p.add_subparsers(dest="presets_action", metavar="ACTION")
    lst = actions.add_parser("list", help="every preset (the default)")
    lst.add_argument(
        "--json", action="store_true", default=SUPPRESS, help="machine-readable output"
    )
    show = actions.add_parser("show", help="one preset in full")
    show.add_argument("name", help="preset name (any case)")
    show.add_argument(
        "--json", action="store_true", default=SUPPRESS, help="machine-readable output"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``lmtui presets [list|show NAME]``."""
    from lmtui.store import paths
    from lmtui.store.presets import load_presets

    presets = load_presets()
    for error in presets.errors:
        warn(f"lmtui: {error.message}")
    if getattr(args, "presets_action", None) == "show":
        return _show(args, presets)
    if args.json:
        print_json(
            {
                "directory": str(paths.presets_dir()),
                "presets": [preset_json(p, presets) for p in presets],
                "errors": [{"message": e.message, "remedy": e.remedy} for e in presets.errors],
            }
        )
        return 0
    say(f"Presets (user files in {paths.presets_dir()}):")
    for preset in presets:
        say()
        _print_preset(preset, presets, full=False)
    return 0


def _show(args: argparse.Namespace, presets: PresetSet) -> int:
    preset = presets.require(args.name)
    if args.json:
        print_json(preset_json(preset, presets))
    else:
        _print_preset(preset, presets, full=True)
    return 0


def preset_json(preset: Preset, presets: PresetSet) -> dict[str, Any]:
    """The JSON form of a preset for ``--json`` output."""
    return {
        "name": preset.name,
        "description": preset.description,
        "system_prompt": preset.system_prompt,
        "models": list(preset.models),
        "params": preset.params.to_json(),
        "builtin": preset.builtin,
        "source": "built-in" if preset.builtin else "user",
        "overrides_builtin": presets.overrides_builtin(preset),
        "path": str(preset.path) if preset.path else None,
    }


def _source(preset: Preset, presets: PresetSet) -> str:
    if preset.builtin:
        return "built-in"
    if presets.overrides_builtin(preset):
        return "user, replaces the built-in"
    return "user"


def _print_preset(preset: Preset, presets: PresetSet, *, full: bool) -> None:
    from lmtui.backend.params import format_param

    def out(text: str) -> None:
        say(text)

    out(f"{preset.name}  ({_source(preset, presets)})")
    if preset.description:
        out(f"  {preset.description}")
    out(f"  models: {', '.join(preset.models) if preset.models else 'any (the loaded model)'}")
    params = preset.params.to_json()
    if params and full:
        out("  params:")
        for name, value in params.items():
            out(f"    {name} = {format_param(name, value)}")
    elif params:
        shown = [
            f"{name}={format_param(name, value)}"
            for name, value in params.items()
            if name != "response_format"
        ]
        if "response_format" in params:
            shown.append(f"response_format={params['response_format'].get('type')}")
        out(f"  params: {', '.join(shown)}")
    else:
        out("  params: server defaults")
    if not preset.system_prompt:
        out("  system prompt: none")
    elif full:
        out("  system prompt:")
        for line in preset.system_prompt.splitlines():
            out(f"    {line}")
    else:
        first = preset.system_prompt.splitlines()[0]
        more = len(preset.system_prompt.splitlines()) > 1 or len(first) > 70
        out(f"  system prompt: {first[:70]}{' …' if more else ''}")
    if preset.path:
        out(f"  file: {preset.path}")

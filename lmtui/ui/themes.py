"""Theme files: loading, validating, registering, choosing and remembering a theme.

A theme is a TOML file whose keys are the fields of :class:`textual.theme.Theme`.
The built-in ones ship in the ``lmtui.themes`` package; user themes live in
``themes/`` next to ``config.toml``, and one with a built-in's name replaces it.
A broken file is reported (file, line, reason), skipped and never rewritten.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w
from textual.app import App
from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
from textual.theme import Theme

from lmtui.backend.errors import ConfigError
from lmtui.store import paths
from lmtui.store.config import read_toml

DEFAULT_THEME = "lmtui-dark"
ANSI_THEME = "lmtui-ansi"

COLOR_FIELDS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_FLOAT_FIELDS = ("luminosity_spread", "text_alpha")
_BOOL_FIELDS = ("dark", "ansi")
KNOWN_FIELDS = frozenset(("name", *COLOR_FIELDS, *_FLOAT_FIELDS, *_BOOL_FIELDS, "variables"))

_VARIABLE_NAME = re.compile(r"[a-z][a-z0-9-]*")
_ALPHA_SUFFIX = re.compile(r"(?P<head>.+?)(?:\s+\d+(?:\.\d+)?%)?")
_CSS_KEYWORDS = frozenset(("auto", "initial", "inherit"))


@dataclass(frozen=True, slots=True)
class ThemeSource:
    """Where a theme file came from, for error messages."""

    label: str
    text: str


class _ThemeFileError(Exception):
    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")


def _line_of(text: str, key: str, table: str | None = None) -> str:
    """The line of ``key = ...`` (inside ``[table]`` when given), for error messages."""
    current: str | None = None
    name = rf"(?:{re.escape(key)}|\"{re.escape(key)}\")"
    key_pattern = re.compile(rf"\s*{name}\s*=")
    inline_pattern = re.compile(rf"\s*{re.escape(table or '')}\s*=.*[{{,]\s*{name}\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1)
        elif current == table and key_pattern.match(line):
            return f"line {number}"
        elif table is not None and current is None and inline_pattern.match(line):
            return f"line {number}"  # an inline table: `variables = { border = "red" }`
    return "line ?"


def _check_color(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a colour string, not {type(value).__name__}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"'{value}' is not a colour") from None
    return value


def _check_variable(value: object) -> str:
    """A variable is a colour (optionally with an alpha %), a CSS keyword or a text style."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type(value).__name__}")
    words = value.split()
    if words and all(word in VALID_STYLE_FLAGS for word in words):
        return value
    match = _ALPHA_SUFFIX.fullmatch(value.strip())
    head = match.group("head") if match else value
    if head in _CSS_KEYWORDS:
        return value
    try:
        Color.parse(head)
    except ColorParseError:
        raise ValueError(f"'{value}' is neither a colour nor a text style") from None
    return value


def parse_theme(text: str, label: str, default_name: str) -> Theme:
    """Build a validated :class:`Theme` from TOML text, or raise :class:`ConfigError`.

    ``label`` names the file in messages; ``default_name`` is used when the file
    has no ``name``.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        where = f"line {found.group(1)}, column {found.group(2)}" if found else "line ?"
        raise ConfigError(f"{label}: {where}: {reason}.") from None
    try:
        return _theme_from_data(data, text, label, default_name)
    except _ThemeFileError as exc:
        raise ConfigError(f"{exc}.") from None


def _theme_from_data(data: dict[str, Any], text: str, label: str, default_name: str) -> Theme:
    def fail(key: str, reason: str, table: str | None = None) -> _ThemeFileError:
        return _ThemeFileError(f"{label}: {_line_of(text, key, table)}", reason)

    for key in data:
        if key not in KNOWN_FIELDS:
            known = ", ".join(sorted(KNOWN_FIELDS))
            raise fail(key, f"unknown field '{key}' (known: {known})")
    fields: dict[str, Any] = {}
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise fail("name", "'name' must be a non-empty string")
    fields["name"] = name.strip()
    if "primary" not in data:
        raise _ThemeFileError(label, "'primary' is required (the main colour)")
    for key in COLOR_FIELDS:
        if key in data:
            try:
                fields[key] = _check_color(data[key])
            except ValueError as exc:
                raise fail(key, f"'{key}' {exc}") from None
    for key in _BOOL_FIELDS:
        if key in data:
            if not isinstance(data[key], bool):
                raise fail(key, f"'{key}' must be true or false")
            fields[key] = data[key]
    for key in _FLOAT_FIELDS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise fail(key, f"'{key}' must be a number")
            if not 0.0 <= float(value) <= 1.0:
                raise fail(key, f"'{key}' must be between 0 and 1")
            fields[key] = float(value)
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise fail("variables", "'variables' must be a table of name = value")
    checked: dict[str, str] = {}
    for var, value in variables.items():
        if not _VARIABLE_NAME.fullmatch(var):
            raise fail(var, f"bad variable name '{var}'", "variables")
        try:
            checked[var] = _check_variable(value)
        except ValueError as exc:
            raise fail(var, f"variable '{var}' {exc}", "variables") from None
    if fields.get("ansi", False):
        # Textual's own CSS reads these two in ANSI mode; its ansi themes set them by hand.
        dark = fields.get("dark", True)
        checked.setdefault("ansi-background", "ansi_black" if dark else "ansi_white")
        checked.setdefault("ansi-foreground", "ansi_white" if dark else "ansi_black")
    fields["variables"] = checked
    theme = Theme(**fields)
    try:
        theme.to_color_system().generate()
    except Exception as exc:  # anything Textual rejects must not reach the app
        raise _ThemeFileError(label, f"Textual cannot use this theme: {exc}") from None
    return theme


def builtin_theme_sources() -> list[ThemeSource]:
    """The TOML texts of the themes that ship with lmtui, by file name."""
    folder = resources.files("lmtui.themes")
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".toml")),
        key=lambda entry: entry.name,
    )
    return [
        ThemeSource(f"lmtui/themes/{entry.name}", entry.read_text("utf-8")) for entry in entries
    ]


def _user_sources(user_dir: Path) -> tuple[list[ThemeSource], list[str]]:
    sources: list[ThemeSource] = []
    errors: list[str] = []
    if not user_dir.is_dir():
        return sources, errors
    for path in sorted(user_dir.glob("*.toml")):
        try:
            sources.append(ThemeSource(str(path), path.read_bytes().decode("utf-8")))
        except UnicodeDecodeError as exc:
            errors.append(f"{path}: not UTF-8 text (byte {exc.start}).")
        except OSError as exc:
            errors.append(f"Cannot read {path}: {exc.strerror or exc}.")
    return sources, errors


def _parse_all(sources: Iterable[ThemeSource], into: dict[str, Theme], errors: list[str]) -> None:
    for source in sources:
        stem = Path(source.label).stem
        try:
            theme = parse_theme(source.text, source.label, stem)
        except ConfigError as exc:
            errors.append(str(exc))
            continue
        into[theme.name] = theme


def load_themes(user_dir: Path | None = None) -> tuple[list[Theme], list[str]]:
    """Built-in themes plus the user's (``themes_dir()`` unless ``user_dir`` is given).

    Returns the themes that loaded (a user theme with a built-in's name replaces
    it) and one error line per file that did not, naming the file and the line.
    """
    themes: dict[str, Theme] = {}
    errors: list[str] = []
    _parse_all(builtin_theme_sources(), themes, errors)
    sources, read_errors = _user_sources(paths.themes_dir() if user_dir is None else user_dir)
    errors.extend(read_errors)
    _parse_all(sources, themes, errors)
    return list(themes.values()), errors


def register_themes(app: App[Any], user_dir: Path | None = None) -> list[str]:
    """Register every loadable theme with ``app``; return the errors for the others."""
    themes, errors = load_themes(user_dir)
    for theme in themes:
        app.register_theme(theme)
    return errors


def default_theme_for_env(env: Mapping[str, str] | None = None) -> str:
    """The theme to use when the user chose none, given the environment.

    The ANSI theme when colour is unwanted (``NO_COLOR``, https://no-color.org)
    or the terminal shows only 16 colours: ``TEXTUAL_COLOR_SYSTEM=standard``, or,
    left on ``auto``, a ``TERM`` that Rich would treat as 16-colour (no
    ``COLORTERM=truecolor`` and no ``-256color``/``kitty`` suffix), ``linux``
    consoles and ``dumb``. Otherwise ``lmtui-dark``.
    """
    env = os.environ if env is None else env
    if env.get("NO_COLOR", ""):
        return ANSI_THEME
    system = env.get("TEXTUAL_COLOR_SYSTEM", "auto").strip().lower()
    if system in ("standard", "windows"):
        return ANSI_THEME
    if system in ("256", "truecolor"):
        return DEFAULT_THEME
    if env.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return DEFAULT_THEME
    term = env.get("TERM", "").strip().lower()
    if not term:
        # No TERM at all (some Windows and CI setups): Rich falls back to truecolor there.
        return DEFAULT_THEME
    suffix = term.rpartition("-")[2]
    if suffix in ("256color", "kitty", "direct", "truecolor") or term == "xterm-kitty":
        return DEFAULT_THEME
    return ANSI_THEME


def apply_theme(app: App[Any], name: str | None) -> str | None:
    """Switch ``app`` to theme ``name`` (or the environment's default when None).

    Returns an error message when the name is unknown; the app then uses
    ``lmtui-dark`` (or Textual's default if even that is missing).
    """
    wanted = name or default_theme_for_env()
    if wanted in app.available_themes:
        app.theme = wanted
        return None
    fallback = DEFAULT_THEME if DEFAULT_THEME in app.available_themes else "textual-dark"
    app.theme = fallback
    return f"Unknown theme '{wanted}'; using {fallback} (choose another with the theme picker)."


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file lmtui reads (``LMTUI_CONFIG`` or the default location)."""
    env = os.environ if env is None else env
    override = env.get("LMTUI_CONFIG")
    return Path(override) if override else paths.config_file()


# `[table]` or `[[array]]` on its own line; not an array value's continuation like `[1, 2],`.
_TABLE_HEADER = re.compile(rb"\s*\[\[?\s*[\w\-\"'. ]+\]\]?\s*(?:#.*)?$")
_THEME_LINE = re.compile(rb"\s*(?:theme|\"theme\"|'theme')\s*=")


def _set_theme_line(raw: bytes, name: str) -> bytes:
    """``raw`` with its top-level ``theme = ...`` replaced (or inserted first); all else kept."""
    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    entry = tomli_w.dumps({"theme": name}).strip().encode("utf-8")
    lines = raw.splitlines(keepends=True)
    in_multiline: bytes | None = None
    for index, line in enumerate(lines):
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if _TABLE_HEADER.match(line):
            break
        if _THEME_LINE.match(line):
            ending = line[len(line.rstrip(b"\r\n")) :]
            lines[index] = entry + ending
            return b"".join(lines)
        for quote in (b'"""', b"'''"):
            if line.count(quote) % 2 == 1:
                in_multiline = quote
                break
    return entry + newline + raw


def save_theme_choice(name: str, path: Path | None = None) -> Path:
    """Remember ``name`` as the theme in ``config.toml``; return the file written.

    Only the top-level ``theme = ...`` line changes (it is added at the top when
    missing); every other byte of the file is kept. A missing file is created
    0600 in a 0700 directory. A file that is not valid TOML is left untouched
    and reported with :class:`ConfigError`.
    """
    target = config_path() if path is None else path
    if target.exists():
        target = target.resolve()  # edit what a symlinked config points at, keep the link
        before = read_toml(target)  # refuse to edit a file we cannot read back
        raw = target.read_bytes()
        updated = _set_theme_line(raw, name)
        try:
            after = tomllib.loads(updated.decode("utf-8"))
        except tomllib.TOMLDecodeError:
            after = {}
        before["theme"] = name
        if after != before:
            raise ConfigError(
                f"{target}: cannot set the theme without disturbing the file.",
                f'Add `theme = "{name}"` at the top of the file yourself.',
            )
        mode = target.stat().st_mode & 0o777
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with open(temp, "wb", opener=paths.private_file_opener) as handle:
                handle.write(updated)
            os.chmod(temp, mode)
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        return target
    paths.ensure_private_dir(target.parent)
    with open(target, "xb", opener=paths.private_file_opener) as handle:
        handle.write(tomli_w.dumps({"theme": name}).encode("utf-8"))
    return target

"""Presets: a named system prompt, preferred models and sampling parameters.

User presets are TOML files, one per preset, in :func:`lmtui.store.paths.presets_dir`.
They are loaded over the built-ins (a user file replaces the built-in of the same
name, compared case-insensitively). A broken file is reported with its path and
line and skipped; it is never rewritten.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from lmtui.backend.errors import ConfigError
from lmtui.backend.params import validate_param
from lmtui.backend.types import PARAMETER_NAMES, SamplingParams
from lmtui.store import paths
from lmtui.store.preset_tools import PresetTool, tools_from_data
from lmtui.store.safe_files import read_bounded

_TOP_KEYS = (
    "name",
    "description",
    "system_prompt",
    "model",
    "models",
    "params",
    "schema",
    "tools",
    "reasoning",
    "integrations",
)
REASONING_CHOICES = ("off", "low", "medium", "high", "on")


@dataclass(frozen=True, slots=True)
class Preset:
    """A named starting point for a conversation.

    ``models`` are preferred model ids or fnmatch patterns, best first; an empty
    tuple means "whatever is loaded". Parameters left unset are not sent.
    """

    name: str
    description: str = ""
    system_prompt: str = ""
    models: tuple[str, ...] = ()
    params: SamplingParams = field(default_factory=SamplingParams)
    builtin: bool = False
    path: Path | None = None
    # ``schema = "file.json"`` as written; the schema itself is in params.response_format.
    schema_file: str | None = None
    tools: tuple[PresetTool, ...] = ()  # custom tools offered to the model
    reasoning: str | None = None  # off/low/medium/high/on for LM Studio; None: the model's own
    integrations: tuple[str, ...] = ()  # names of [integrations.NAME] in the config

    @property
    def key(self) -> str:
        """The name as compared: case-insensitive."""
        return preset_key(self.name)

    def response_format_matches_schema_file(self) -> bool:
        """True when ``schema_file`` still holds the schema the preset sends."""
        from lmtui.store.schema_files import read_schema_file, schema_of

        if self.schema_file is None or self.path is None:
            return False
        target = Path(self.schema_file).expanduser()
        if not target.is_absolute():
            target = self.path.parent / target
        try:
            return read_schema_file(target) == schema_of(self.params.response_format)
        except ConfigError:
            return False


def preset_key(name: str) -> str:
    """How preset names are compared: case-insensitively, ignoring outer spaces."""
    return name.strip().casefold()


@dataclass(frozen=True, slots=True)
class PresetSet:
    """Every usable preset, plus the problems found in broken files."""

    presets: tuple[Preset, ...]
    errors: tuple[ConfigError, ...] = ()
    overridden: frozenset[str] = frozenset()  # keys of built-ins replaced by a user file

    def get(self, name: str) -> Preset | None:
        """The preset called ``name`` (any case), or None."""
        key = preset_key(name)
        return next((p for p in self.presets if p.key == key), None)

    def require(self, name: str) -> Preset:
        """The preset called ``name``, or a :class:`ConfigError` that says why not.

        When the preset's own file is broken, the error names that file, its line and
        the problem, instead of "no preset named"; otherwise it lists the presets and
        says how many files could not be read.
        """
        found = self.get(name)
        if found is not None:
            return found
        key = preset_key(name)
        for error in self.errors:
            path = Path(error.message.split(": ", 1)[0])
            if preset_key(path.stem) == key:
                raise ConfigError(f"Preset '{name}' cannot be used: {error.message}", error.remedy)
        broken = ""
        if self.errors:
            broken = f" ({len(self.errors)} preset file(s) could not be read; first: "
            broken += f"{self.errors[0].message})"
        raise ConfigError(
            f"No preset named '{name}'.{broken}", f"Presets: {', '.join(self.names())}."
        )

    def all(self) -> tuple[Preset, ...]:
        """Every preset: built-ins (or their user replacements) first, then user presets."""
        return self.presets

    def names(self) -> list[str]:
        """Every preset name, in order."""
        return [p.name for p in self.presets]

    def overrides_builtin(self, preset: Preset) -> bool:
        """True when ``preset`` is a user file replacing a built-in."""
        return not preset.builtin and preset.key in self.overridden

    def __iter__(self) -> Iterator[Preset]:
        return iter(self.presets)

    def __len__(self) -> int:
        return len(self.presets)


# ---- reading ------------------------------------------------------------------


# The presets lmtui ships with: TOML files in the package, read like the user's own.
BUILTIN_DIR = Path(__file__).with_name("builtin")


@functools.cache
def builtin_presets() -> tuple[Preset, ...]:
    """The shipped presets, in file-name order (read once; a broken file is a packaging bug)."""
    return tuple(
        replace(read_preset_file(file), builtin=True, path=None)
        for file in _preset_files(BUILTIN_DIR)
    )


def load_presets(directory: Path | None = None) -> PresetSet:
    """The built-in presets overridden and extended by the user's preset files."""
    builtins = builtin_presets()
    directory = paths.presets_dir() if directory is None else directory
    user: list[Preset] = []
    errors: list[ConfigError] = []
    seen: dict[str, Path] = {}
    for file in _preset_files(directory):
        try:
            preset = read_preset_file(file)
        except ConfigError as exc:
            errors.append(exc)
            continue
        first = seen.get(preset.key)
        if first is not None:
            errors.append(
                ConfigError(
                    f"{file}: preset '{preset.name}' is also defined in {first.name}; skipped.",
                    "Rename one of them (the name = line) or delete one file.",
                )
            )
            continue
        seen[preset.key] = file
        user.append(preset)
    by_key = {p.key: p for p in user}
    builtin_keys = {p.key for p in builtins}
    merged = [by_key.get(p.key, p) for p in builtins]
    extra = sorted((p for p in user if p.key not in builtin_keys), key=lambda p: p.key)
    return PresetSet(
        tuple(merged + extra),
        tuple(errors),
        frozenset(k for k in by_key if k in builtin_keys),
    )


def _preset_files(directory: Path) -> list[Path]:
    try:
        entries = sorted(directory.glob("*.toml"))
    except OSError:
        return []
    return [e for e in entries if not e.name.startswith(".") and e.is_file()]


def read_preset_file(path: Path) -> Preset:
    """Read one preset file; :class:`ConfigError` naming the file and line when it is broken."""
    try:
        raw = read_bounded(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}).") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = _toml_error_location(exc)
        reason = re.sub(r"\s*\(at (?:line \d+, column \d+|end of document)\)", "", str(exc))
        raise ConfigError(f"{path}: {where}: TOML syntax error: {reason}.") from None
    try:
        return _preset_from_data(data, path)
    except _Problem as problem:
        line = _line_of(text, problem.key, problem.table)
        raise ConfigError(f"{path}: {line}: {problem.message}.") from None


class _Problem(Exception):
    def __init__(self, key: str | None, message: str, table: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.table = table


def _preset_from_data(data: dict[str, Any], path: Path) -> Preset:
    for key in data:
        if key not in _TOP_KEYS:
            raise _Problem(key, f"unknown key '{key}' (known: {', '.join(_TOP_KEYS)})")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise _Problem("name", "'name' must be a non-empty string")
    texts = {}
    for key in ("description", "system_prompt"):
        value = data.get(key, "")
        if not isinstance(value, str):
            raise _Problem(key, f"'{key}' must be a string")
        texts[key] = value
    params = _params_from_data(data.get("params", {}))
    schema_file = None
    if "schema" in data:
        params, schema_file = _schema_from_data(data["schema"], name.strip(), params, path)
    tools: tuple[PresetTool, ...] = ()
    if "tools" in data:
        try:
            tools = tools_from_data(data["tools"])
        except ValueError as exc:
            raise _Problem("tools", str(exc)) from None
    reasoning = data.get("reasoning")
    if reasoning is not None and reasoning not in REASONING_CHOICES:
        raise _Problem("reasoning", f"'reasoning' must be one of {', '.join(REASONING_CHOICES)}")
    integrations = data.get("integrations", [])
    if not isinstance(integrations, list) or not all(isinstance(i, str) for i in integrations):
        raise _Problem("integrations", "'integrations' must be a list of [integrations] names")
    return Preset(
        name=name.strip(),
        description=texts["description"],
        system_prompt=texts["system_prompt"],
        models=_models_from_data(data),
        params=params,
        builtin=False,
        path=path,
        schema_file=schema_file,
        tools=tools,
        reasoning=reasoning,
        integrations=tuple(integrations),
    )


def _schema_from_data(
    raw: object, name: str, params: SamplingParams, path: Path
) -> tuple[SamplingParams, str | None]:
    """Fold ``schema`` (inline table or path to .json) into ``params.response_format``."""
    from lmtui.store.schema_files import check_schema, read_schema_file, response_format_for

    if params.response_format is not None:
        raise _Problem("schema", "give either 'schema' or params.response_format, not both")
    schema_file: str | None = None
    if isinstance(raw, str):
        if not raw.strip():
            raise _Problem("schema", "'schema' must be a table or the path of a .json file")
        schema_file = raw.strip()
        target = Path(schema_file).expanduser()
        if not target.is_absolute():
            target = path.parent / target
        try:
            schema = read_schema_file(target)
        except ConfigError as exc:
            raise _Problem("schema", exc.message.rstrip(".")) from None
    else:
        try:
            schema = check_schema(raw)
        except ValueError as exc:
            raise _Problem("schema", f"'schema': {exc}") from None
    return replace(params, response_format=response_format_for(schema, name)), schema_file


def _models_from_data(data: dict[str, Any]) -> tuple[str, ...]:
    if "model" in data and "models" in data:
        raise _Problem("models", "give either 'model' or 'models', not both")
    if "model" in data:
        model = data["model"]
        if not isinstance(model, str) or not model.strip():
            raise _Problem("model", "'model' must be a non-empty string (a model id or pattern)")
        return (model.strip(),)
    models = data.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) and m.strip() for m in models):
        raise _Problem("models", "'models' must be a list of model ids or patterns (strings)")
    return tuple(m.strip() for m in models)


def _params_from_data(raw: object) -> SamplingParams:
    if not isinstance(raw, dict):
        raise _Problem("params", "'params' must be a table ([params])")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in PARAMETER_NAMES:
            known = ", ".join(PARAMETER_NAMES)
            raise _Problem(name, f"unknown parameter '{name}' (known: {known})", "params")
        try:
            checked = validate_param(name, value)
        except ValueError as exc:
            raise _Problem(name, str(exc), "params") from None
        if checked is not None:
            values[name] = checked
    return SamplingParams(**values)


def _toml_error_location(exc: tomllib.TOMLDecodeError) -> str:
    match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    if match:
        return f"line {match.group(1)}, column {match.group(2)}"
    return "end of file" if "end of document" in str(exc) else "unknown position"


def _line_of(text: str, key: str | None, table: str | None) -> str:
    """Best-effort line of ``key = ...`` (inside ``[table]`` when given) for messages."""
    if key is None:
        return "top level"
    current: str | None = None
    key_re = re.compile(rf"\s*(?:\"{re.escape(key)}\"|{re.escape(key)})\s*=")
    for n, line in enumerate(text.splitlines(), 1):
        header = re.match(r"\s*\[([^\[\]]+)\]\s*(?:#.*)?$", line)
        if header:
            current = header.group(1).strip()
            if current == (f"{table}.{key}" if table else key):
                return f"line {n}"
            continue
        if current == table and key_re.match(line):
            return f"line {n}"
    return f"[{table}]" if table else "top level"


# ---- writing ------------------------------------------------------------------


def preset_to_toml(preset: Preset) -> str:
    """The TOML text of a preset file."""
    data: dict[str, Any] = {"name": preset.name}
    if preset.description:
        data["description"] = preset.description
    if preset.system_prompt:
        data["system_prompt"] = preset.system_prompt
    if len(preset.models) == 1:
        data["model"] = preset.models[0]
    elif preset.models:
        data["models"] = list(preset.models)
    params = preset.params.to_json()
    schema = _schema_for_file(preset)
    if schema is not None:
        params.pop("response_format", None)
        data["schema"] = schema
    if params:
        data["params"] = params
    if preset.tools:
        data["tools"] = [t.to_toml() for t in preset.tools]
    if preset.reasoning:
        data["reasoning"] = preset.reasoning
    if preset.integrations:
        data["integrations"] = list(preset.integrations)
    # Triple-quoted strings keep prompts readable, but TOML turns a CRLF inside them
    # into LF; a file holding a carriage return is written with escapes instead.
    multiline = not _has_carriage_return(data)
    try:
        return tomli_w.dumps(data, multiline_strings=multiline)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"Preset '{preset.name}' cannot be written as TOML: {exc}.",
            "TOML has no null: remove null values from response_format.",
        ) from None


def _schema_for_file(preset: Preset) -> str | dict[str, Any] | None:
    """How the preset's schema is written: its file path if unchanged, else inline."""
    from lmtui.store.schema_files import response_format_for, schema_of

    schema = schema_of(preset.params.response_format)
    if schema is None:
        return None
    if preset.response_format_matches_schema_file():
        return preset.schema_file
    if preset.params.response_format != response_format_for(schema, preset.name):
        return None  # a hand-written response_format (other name or strict): keep it as is
    return schema


def _has_carriage_return(value: object) -> bool:
    if isinstance(value, str):
        return "\r" in value
    if isinstance(value, dict):
        return any(_has_carriage_return(k) or _has_carriage_return(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_carriage_return(v) for v in value)
    return False


def slugify(name: str) -> str:
    """A file-name-safe form of a preset name (letters of any script are kept)."""
    slug = re.sub(r"[\W_]+", "-", name.strip().casefold()).strip("-")
    return slug[:64].strip("-") or "preset"


def save_preset(preset: Preset, directory: Path | None = None, *, overwrite: bool = False) -> Path:
    """Write ``preset`` to its file (0600) and return the path.

    A preset loaded from a file in ``directory`` is written back to that file; a
    new one (or a copy of a built-in) goes to ``<slug of name>.toml``. Another
    file is never replaced — one holding a preset of the same name, or one at the
    target path — unless ``overwrite`` is True.
    """
    directory = paths.presets_dir() if directory is None else directory
    if not preset.name.strip():
        raise ConfigError("A preset needs a name.", "Give the preset a non-empty name.")
    validated = _revalidate(preset)
    own = _own_file(validated, directory)
    holder = find_preset_file(validated.name, directory)
    if holder is not None and holder != own:
        if not overwrite:
            raise ConfigError(
                f"A preset named '{validated.name}' already exists in {holder}.",
                "Choose another name, or overwrite that preset.",
            )
        target = holder
    elif own is not None:
        target = own
    else:
        target = directory / f"{slugify(validated.name)}.toml"
        if target.exists() and not overwrite:
            raise ConfigError(
                f"{target} already exists and holds another preset (or a broken file).",
                "Choose another name, or fix or remove that file.",
            )
    text = preset_to_toml(validated)
    paths.ensure_private_dir(directory)
    _write_private(target, text)
    return target


def _revalidate(preset: Preset) -> Preset:
    """Check every parameter again, so a file we write always loads back."""
    for name, value in preset.params.to_json().items():
        try:
            validate_param(name, value)
        except ValueError as exc:
            raise ConfigError(f"Preset '{preset.name}': {exc}.", "Fix the value.") from None
    models = tuple(m.strip() for m in preset.models if m.strip())
    return replace(preset, name=preset.name.strip(), models=models)


def _own_file(preset: Preset, directory: Path) -> Path | None:
    if preset.builtin or preset.path is None:
        return None
    try:
        same_dir = preset.path.parent.resolve() == directory.resolve()
    except OSError:
        return None
    return preset.path if same_dir else None


def _write_private(target: Path, text: str) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", opener=paths.private_file_opener) as fh:
            fh.write(text)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    with contextlib.suppress(OSError):
        os.chmod(target, 0o600)


def find_preset_file(name: str, directory: Path | None = None) -> Path | None:
    """The user file holding the preset called ``name`` (any case); broken files are ignored."""
    directory = paths.presets_dir() if directory is None else directory
    key = preset_key(name)
    for file in _preset_files(directory):
        try:
            if read_preset_file(file).key == key:
                return file
        except ConfigError:
            continue
    return None


def delete_preset(name: str, directory: Path | None = None) -> Path:
    """Delete the user file of preset ``name`` and return its path.

    Deleting a user file that replaced a built-in brings the built-in back.
    """
    file = find_preset_file(name, directory)
    if file is None:
        if any(p.key == preset_key(name) for p in builtin_presets()):
            raise ConfigError(
                f"'{name}' is a built-in preset and cannot be deleted.",
                "Save a preset of the same name to replace it instead.",
            )
        raise ConfigError(f"No preset file for '{name}'.", "See `lmtui presets list`.")
    file.unlink()
    return file


def duplicate(preset: Preset, new_name: str) -> Preset:
    """A copy of ``preset`` under a new name, not yet saved (a user preset)."""
    if not new_name.strip():
        raise ConfigError("A preset needs a name.", "Give the copy a non-empty name.")
    return replace(preset, name=new_name.strip(), builtin=False, path=None)


def preset_from_current(
    name: str,
    system_prompt: str,
    model: str | None,
    params: SamplingParams,
    description: str = "",
) -> Preset:
    """A new preset from a conversation's current settings ("save as preset")."""
    if not name.strip():
        raise ConfigError("A preset needs a name.", "Give the preset a non-empty name.")
    return Preset(
        name=name.strip(),
        description=description,
        system_prompt=system_prompt,
        models=(model,) if model else (),
        params=params,
    )

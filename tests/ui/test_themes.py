"""Theme files, the theme picker and terminal colour behaviour."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.color import ColorType
from textual.app import App, ComposeResult
from textual.color import Color
from textual.pilot import Pilot
from textual.widgets import Input, Markdown, OptionList, Static

from lmtui.backend.errors import ConfigError
from lmtui.ui import themes as themes_module
from lmtui.ui.theme_picker import ThemePicker, matches, theme_order
from lmtui.ui.themes import (
    ANSI_THEME,
    DEFAULT_THEME,
    apply_theme,
    default_theme_for_env,
    load_themes,
    register_themes,
    save_theme_choice,
)

REPO = Path(__file__).resolve().parents[2]
REQUIRED = {"lmtui-dark", "lmtui-light", "lmtui-high-contrast", "lmtui-ansi"}


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every XDG directory into tmp_path so no test touches the real home."""
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("LMTUI_CONFIG", raising=False)
    return tmp_path


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "user-themes"
    folder.mkdir()
    return folder


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours."""

    def luminance(color: Color) -> float:
        def channel(value: int) -> float:
            v = value / 255
            return v / 12.92 if v <= 0.03928 else float(((v + 0.055) / 1.055) ** 2.4)

        return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)

    high, low = sorted((luminance(Color.parse(a)), luminance(Color.parse(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


# ---- loading -----------------------------------------------------------------


def test_builtin_themes_load_cleanly(user_dir: Path) -> None:
    themes, errors = load_themes(user_dir)
    names = {theme.name for theme in themes}
    assert errors == []
    assert names >= REQUIRED
    assert len(names) >= 6
    assert all(name.startswith("lmtui-") for name in names)


def test_default_user_dir_is_the_config_themes_dir(private_home: Path) -> None:
    folder = private_home / "xdg_config_home" / "lmtui" / "themes"
    folder.mkdir(parents=True)
    _write(folder, "mine.toml", 'primary = "#112233"\n')
    themes, errors = load_themes()
    assert errors == []
    assert {theme.name: theme.primary for theme in themes}["mine"] == "#112233"


def test_top_level_themes_dir_is_the_package_dir() -> None:
    top = REPO / "themes"
    assert top.is_symlink()
    assert top.resolve() == (REPO / "lmtui" / "themes").resolve()
    shipped = {path.name for path in (REPO / "lmtui" / "themes").glob("*.toml")}
    assert {f"{name}.toml" for name in REQUIRED} <= shipped


def test_ansi_theme_names_only_ansi_colours(user_dir: Path) -> None:
    theme = {t.name: t for t in load_themes(user_dir)[0]}[ANSI_THEME]
    assert theme.ansi
    values = [getattr(theme, field) for field in themes_module.COLOR_FIELDS]
    values += [v for k, v in theme.variables.items() if not k.endswith("text-style")]
    colours = [Color.parse(value) for value in values]
    assert len(colours) > len(themes_module.COLOR_FIELDS)
    assert all(colour.ansi is not None for colour in colours)


@pytest.mark.parametrize(
    ("name", "minimum"), [("lmtui-light", 4.5), ("lmtui-high-contrast", 7.0), ("lmtui-dark", 4.5)]
)
def test_text_colours_are_readable(user_dir: Path, name: str, minimum: float) -> None:
    theme = {t.name: t for t in load_themes(user_dir)[0]}[name]
    assert theme.background is not None
    for field in ("foreground", "primary", "secondary", "accent", "warning", "error", "success"):
        value = getattr(theme, field)
        assert _contrast(value, theme.background) >= minimum, field


BROKEN = [
    ("syntax.toml", 'name = "x"\nprimary = "#fff\n', "line 2"),
    ("unknown.toml", 'name = "x"\nprimary = "#fff"\n\ncolour = "red"\n', "line 4"),
    ("colour.toml", 'name = "x"\nprimary = "#ggg"\n', "line 2"),
    (
        "variable.toml",
        'primary = "red"\n[variables]\nborder = "red"\nfooter = "blurple"\n',
        "line 4",
    ),
    ("inline.toml", 'primary = "red"\nvariables = { border = "nope nope" }\n', "line 2"),
    ("dark.toml", 'primary = "red"\ndark = "yes"\n', "line 2"),
    ("alpha.toml", 'primary = "red"\ntext_alpha = 3\n', "line 2"),
    ("noprimary.toml", 'name = "x"\nbackground = "#000000"\n', "'primary' is required"),
]


@pytest.mark.parametrize(("file_name", "text", "where"), BROKEN)
def test_broken_file_is_reported_and_skipped(
    user_dir: Path, file_name: str, text: str, where: str
) -> None:
    broken = _write(user_dir, file_name, text)
    _write(user_dir, "good.toml", 'name = "good"\nprimary = "#336699"\n')
    before = broken.read_bytes(), broken.stat().st_mtime_ns
    themes, errors = load_themes(user_dir)
    assert len(errors) == 1
    assert str(broken) in errors[0]
    assert where in errors[0]
    names = {theme.name for theme in themes}
    assert "good" in names
    assert names >= REQUIRED
    assert (broken.read_bytes(), broken.stat().st_mtime_ns) == before


def test_non_utf8_file_is_reported(user_dir: Path) -> None:
    (user_dir / "latin1.toml").write_bytes(b'primary = "caf\xe9"\n')
    themes, errors = load_themes(user_dir)
    assert len(errors) == 1
    assert "latin1.toml" in errors[0]
    assert "UTF-8" in errors[0]
    assert {theme.name for theme in themes} >= REQUIRED


def test_variables_accept_textual_value_kinds(user_dir: Path) -> None:
    _write(
        user_dir,
        "kinds.toml",
        'primary = "red"\n[variables]\ninput-selection-background = "#81a1c1 35%"\n'
        'text-muted = "auto 60%"\nlink-background = "initial"\n'
        'link-style-hover = "bold not underline"\nborder = "rgb(10, 20, 30)"\n',
    )
    themes, errors = load_themes(user_dir)
    assert errors == []
    assert {t.name: t for t in themes}["kinds"].variables["text-muted"] == "auto 60%"


def test_user_theme_overrides_builtin(user_dir: Path) -> None:
    _write(user_dir, "mine.toml", 'name = "lmtui-dark"\nprimary = "#ABCDEF"\n')
    themes, errors = load_themes(user_dir)
    assert errors == []
    same_name = [theme for theme in themes if theme.name == "lmtui-dark"]
    assert len(same_name) == 1
    assert same_name[0].primary == "#ABCDEF"


def test_name_defaults_to_file_stem(user_dir: Path) -> None:
    _write(user_dir, "ocean.toml", 'primary = "#0077BE"\n')
    themes, _ = load_themes(user_dir)
    assert "ocean" in {theme.name for theme in themes}


def test_user_ansi_theme_gets_the_variables_textual_needs(user_dir: Path) -> None:
    _write(user_dir, "mono.toml", 'ansi = true\ndark = false\nprimary = "ansi_blue"\n')
    theme = {t.name: t for t in load_themes(user_dir)[0]}["mono"]
    assert theme.variables["ansi-background"] == "ansi_white"
    assert theme.variables["ansi-foreground"] == "ansi_black"


# ---- the environment ----------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TERM": "xterm-256color"}, DEFAULT_THEME),
        ({"TERM": "xterm-256color", "NO_COLOR": "1"}, ANSI_THEME),
        ({"TERM": "xterm-256color", "NO_COLOR": ""}, DEFAULT_THEME),  # empty means unset
        ({"TERM": "xterm-256color", "TEXTUAL_COLOR_SYSTEM": "standard"}, ANSI_THEME),
        ({"TERM": "linux", "TEXTUAL_COLOR_SYSTEM": "truecolor"}, DEFAULT_THEME),
        ({"TERM": "linux"}, ANSI_THEME),
        ({"TERM": "xterm"}, ANSI_THEME),
        ({"TERM": "screen"}, ANSI_THEME),
        ({"TERM": "xterm", "COLORTERM": "truecolor"}, DEFAULT_THEME),
        ({"TERM": "tmux-256color"}, DEFAULT_THEME),
        ({"TERM": "xterm-kitty"}, DEFAULT_THEME),
        ({}, DEFAULT_THEME),
    ],
)
def test_default_theme_for_env(env: dict[str, str], expected: str) -> None:
    assert default_theme_for_env(env) == expected


# ---- host apps -------------------------------------------------------------------


class Host(App[None]):
    """A small app with the widgets a chat screen uses."""

    def __init__(self, theme_name: str | None = None) -> None:
        super().__init__()
        self.theme_name = theme_name
        self.errors: list[str] = []
        self.message: str | None = None
        self.picked: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield Static("lmtui · model: smollm2 · server: 127.0.0.1", id="status")
        yield Markdown("# Reply\n\nSome *emphasis*, `code` and a list:\n\n- one\n- two\n")
        yield OptionList("qwen2.5-7b-instruct", "smollm2-135m", id="models")
        yield Input(value="a prompt", id="prompt")

    def on_mount(self) -> None:
        self.query_one("#prompt", Input).cursor_blink = False
        self.errors = register_themes(self, user_dir=Path(os.devnull))
        self.message = apply_theme(self, self.theme_name)

    def open_picker(self, picker: ThemePicker) -> None:
        self.push_screen(picker, callback=self.picked.append)


def _non_ansi_colours(app: App[Any]) -> set[str]:
    found: set[str] = set()
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            style = segment.style
            if style is None:
                continue
            for colour in (style.color, style.bgcolor):
                if colour is not None and colour.type not in (
                    ColorType.DEFAULT,
                    ColorType.STANDARD,
                ):
                    found.add(colour.name)
    return found


async def test_ansi_theme_draws_with_the_16_colour_palette_only() -> None:
    app = Host(ANSI_THEME)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == ANSI_THEME
        assert _non_ansi_colours(app) == set()
        app.theme = DEFAULT_THEME  # the check itself must be able to fail
        await pilot.pause()
        assert _non_ansi_colours(app)


@pytest.mark.parametrize("name", sorted(REQUIRED | {"lmtui-gruvbox", "lmtui-solarized-dark"}))
async def test_every_builtin_theme_applies_without_css_errors(name: str) -> None:
    app = Host(name)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.errors == []
        assert app.message is None
        assert app.theme == name


async def test_unknown_theme_falls_back_with_a_message() -> None:
    app = Host("no-such-theme")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == DEFAULT_THEME
        assert app.message is not None
        assert "no-such-theme" in app.message


async def test_no_theme_uses_the_environment_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = Host(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == ANSI_THEME


# ---- the picker --------------------------------------------------------------------


def test_theme_order_and_matching() -> None:
    assert theme_order(["nord", "lmtui-light", "dracula", "lmtui-ansi"]) == [
        "lmtui-ansi",
        "lmtui-light",
        "dracula",
        "nord",
    ]
    assert matches("lmtui-solarized-dark", "SOLAR dark")
    assert not matches("lmtui-solarized-dark", "solar light")


async def test_picker_previews_and_escape_restores(private_home: Path) -> None:
    app = Host(DEFAULT_THEME)
    config = private_home / "xdg_config_home" / "lmtui" / "config.toml"
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_picker(ThemePicker())
        await pilot.pause()
        seen = {app.theme}
        for _ in range(3):
            await pilot.press("down")
            seen.add(app.theme)
        assert len(seen) == 4  # each highlight applied a different theme at once
        await pilot.press("escape")
        await pilot.pause()
        assert app.theme == DEFAULT_THEME
        assert app.picked == [None]
    assert not config.exists()


async def test_picker_filters_and_enter_saves(private_home: Path) -> None:
    app = Host(DEFAULT_THEME)
    config = private_home / "xdg_config_home" / "lmtui" / "config.toml"
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_picker(ThemePicker())
        await pilot.pause()
        await pilot.press(*"gruv")
        await pilot.pause()
        listed = app.screen.query_one("#theme-list", OptionList)
        ids = [listed.get_option_at_index(i).id for i in range(listed.option_count)]
        assert ids == ["lmtui-gruvbox", "gruvbox"]
        assert app.theme == "lmtui-gruvbox"  # the first match is previewed
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.theme == "gruvbox"
        assert app.picked == ["gruvbox"]
    assert tomllib.loads(config.read_text("utf-8")) == {"theme": "gruvbox"}
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


async def test_picker_reports_a_config_it_cannot_edit(private_home: Path) -> None:
    config = private_home / "broken.toml"
    config.write_text("base_url = \n", encoding="utf-8")
    app = Host(DEFAULT_THEME)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_picker(ThemePicker(themes=["lmtui-dark", "lmtui-light"], config_file=config))
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.theme == "lmtui-light"  # kept for this session
        notes = [n.message for n in app._notifications]
        assert any("broken.toml" in note and "line 1" in note for note in notes)
    assert config.read_text("utf-8") == "base_url = \n"


def _snapshot_host() -> Host:
    return Host(ANSI_THEME)


def test_snapshot_ansi_theme_with_picker(snap_compare: Any) -> None:
    async def open_picker(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, Host)
        app.open_picker(ThemePicker(themes=[t for t in app.available_themes if "lmtui" in t]))
        await pilot.pause()
        app.screen.query_one("#theme-filter", Input).cursor_blink = False
        await pilot.pause()

    assert snap_compare(_snapshot_host(), terminal_size=(80, 24), run_before=open_picker)


# ---- save_theme_choice ----------------------------------------------------------------

ORIGINAL = (
    b"# my lmtui settings\r\n"
    b'base_url = "http://gpu-box:1234"   # the big machine\r\n'
    b"theme = 'nord'  # old choice\r\n"
    b"save_history = true\r\n"
    b"\r\n"
    b"[keys]\r\n"
    b'theme = "ctrl+t"\r\n'
    b"[local]\r\n"
    b"port = 0"  # no final newline
)


def test_save_rewrites_only_the_theme_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    with open(config, "wb") as handle:
        handle.write(ORIGINAL)
    config.chmod(0o640)
    save_theme_choice("lmtui-light", config)
    expected = ORIGINAL.replace(b"theme = 'nord'  # old choice", b'theme = "lmtui-light"')
    assert config.read_bytes() == expected
    assert stat.S_IMODE(config.stat().st_mode) == 0o640  # the user's mode is kept


def test_save_inserts_theme_at_the_top_when_missing(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    body = b'model = "qwen"\n\n[keys]\ntheme = "ctrl+t"\n'
    config.write_bytes(body)
    save_theme_choice("lmtui-ansi", config)
    assert config.read_bytes() == b'theme = "lmtui-ansi"\n' + body
    assert tomllib.loads(config.read_text("utf-8"))["keys"] == {"theme": "ctrl+t"}


def test_save_ignores_theme_inside_a_multiline_string(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    body = b'preset = """\ntheme = "not a key"\n"""\n'
    # `preset` must be a string for the config loader; a multi-line one is still a string.
    config.write_bytes(body)
    save_theme_choice("lmtui-dark", config)
    assert config.read_bytes() == b'theme = "lmtui-dark"\n' + body


def test_save_is_not_fooled_by_a_multiline_array(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    body = b'stops = [\n  [1, 2],\n]\ntheme = "nord"\n[keys]\n'
    config.write_bytes(body)
    save_theme_choice("lmtui-light", config)
    assert config.read_bytes() == body.replace(b'"nord"', b'"lmtui-light"')


def test_save_creates_a_private_file(private_home: Path) -> None:
    written = save_theme_choice("lmtui-high-contrast")
    assert written == private_home / "xdg_config_home" / "lmtui" / "config.toml"
    assert written.read_bytes() == b'theme = "lmtui-high-contrast"\n'
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700


def test_save_honours_lmtui_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "elsewhere.toml"
    monkeypatch.setenv("LMTUI_CONFIG", str(target))
    assert save_theme_choice("lmtui-gruvbox") == target
    assert target.read_bytes() == b'theme = "lmtui-gruvbox"\n'


def test_save_edits_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "lmtui.toml"
    real.parent.mkdir()
    real.write_bytes(b'theme = "nord"\n')
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    save_theme_choice("lmtui-light", link)
    assert link.is_symlink()
    assert real.read_bytes() == b'theme = "lmtui-light"\n'


def test_save_refuses_a_broken_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"model = \n")
    with pytest.raises(ConfigError, match="line 1"):
        save_theme_choice("lmtui-light", config)
    assert config.read_bytes() == b"model = \n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temp file left


def test_save_escapes_odd_names(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"[keys]\n")
    save_theme_choice('my "quoted" \\ theme', config)
    assert tomllib.loads(config.read_text("utf-8"))["theme"] == 'my "quoted" \\ theme'


_key = st.from_regex(r"[a-z_]{1,8}", fullmatch=True).filter(lambda k: k != "theme")
_value = st.one_of(st.integers(), st.booleans(), st.text(max_size=12))
_comment = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    top=st.dictionaries(_key, _value, max_size=4),
    table=st.dictionaries(_key, _value, max_size=3),
    comment=_comment,
    old=st.one_of(st.none(), st.text(max_size=10)),
    new=st.text(min_size=1, max_size=12),
)
def test_save_changes_nothing_but_the_theme(
    tmp_path: Path,
    top: dict[str, Any],
    table: dict[str, Any],
    comment: str,
    old: str | None,
    new: str,
) -> None:
    import tomli_w

    head = {"theme": old, **top} if old is not None else top
    text = f"# {comment}\n" + tomli_w.dumps(head) + "\n[extra]\n" + tomli_w.dumps(table)
    config = tmp_path / "prop.toml"
    config.write_text(text, encoding="utf-8")
    save_theme_choice(new, config)
    after = config.read_text("utf-8")
    assert tomllib.loads(after) == {**tomllib.loads(text), "theme": new}
    changed = set(after.split("\n")) ^ set(text.split("\n"))
    assert all(line.startswith("theme = ") for line in changed)

"""``main`` registers only the subcommand a command line names: what it prints is unchanged.

Every help text and the usage errors are compared with the whole parser's (every
subcommand registered, as before). tests/cli/test_ask_sync.py checks that a real
``lmtui ask`` imports no other subcommand's module.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from lmtui.cli import SUBCOMMANDS, build_parser, command_named, main


def command_lines(parser: argparse.ArgumentParser, prefix: list[str]) -> Iterator[list[str]]:
    """``prefix`` and the words of every subcommand and action below it."""
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from command_lines(child, [*prefix, name])


EVERY_COMMAND = list(command_lines(build_parser(), []))
# Each with options before it too, as users type them.
HELP_LINES = [
    *([*words, "--help"] for words in EVERY_COMMAND),
    *(["--base-url", "http://h:1", *words, "-h"] for words in EVERY_COMMAND),
    ["-h", "ask"],
    ["--help"],
    ["--model", "ask", "models", "--help"],  # "ask" is --model's value here
]
# Lines the parsers refuse or stop at: each prints the same message and exit code.
OTHER_LINES = [
    ["nosuchcommand"],
    ["ask", "--no-such-flag", "hi"],
    ["ask", "-t", "warm", "hi"],
    ["--open", "abc", "ask", "hi"],
    ["--model"],
    ["history"],
    ["history", "show"],
    ["models", "load"],
    ["--version"],
    ["--version", "ask"],
    ["--mod", "m", "ask", "--seed", "x"],
]


def printed(
    parse: object, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[object, str, str]:
    """What parsing ``argv`` printed, and its exit code."""
    assert callable(parse)
    with pytest.raises(SystemExit) as stop:
        parse(argv)
    out, err = capsys.readouterr()
    return stop.value.code, out, err


def test_every_command_is_walked() -> None:
    assert {words[0] for words in EVERY_COMMAND if words} == set(SUBCOMMANDS)
    assert len(EVERY_COMMAND) > len(SUBCOMMANDS) + 5  # the actions of models, history…


@pytest.mark.parametrize("argv", HELP_LINES + OTHER_LINES, ids=" ".join)
def test_main_prints_what_the_whole_parser_prints(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    whole = printed(lambda a: build_parser().parse_args(a), argv, capsys)
    lean = printed(main, argv, capsys)
    assert lean == whole
    assert whole[1] or whole[2]  # it printed something: a help text or an error


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["ask", "hi"], "ask"),
        (["--base-url", "http://h:1", "--new", "ask", "hi"], "ask"),
        (["--model", "ask", "models"], "models"),  # the value of --model is not a command
        (["-m", "ask", "history", "list"], "history"),
        (["--base-url=http://h:1", "doctor"], "doctor"),
        (["ask", "-h"], "ask"),  # the subcommand's own help is its parser's alone
        ([], None),
        (["--new"], None),
        (["nosuchcommand"], None),
        (["-h", "ask"], None),
        (["--version", "ask"], None),
        (["--model"], None),
    ],
)
def test_the_command_a_line_names(argv: list[str], command: str | None) -> None:
    assert command_named(argv) == command

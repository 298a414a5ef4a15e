"""The Markdown flavour replies are drawn with: Rich Markdown, tuned for chat.

Left-aligned headings, one shared parser, code blocks that reuse their lexer, no
hyperlinks. Imported when the first reply is drawn (by
:mod:`lmtui.ui.markdown_body`), so the app starts without markdown-it and Pygments.
"""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from markdown_it import MarkdownIt
from pygments.lexer import Lexer  # type: ignore[import-untyped]
from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]
from pygments.util import ClassNotFound  # type: ignore[import-untyped]
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Heading, Markdown, MarkdownElement
from rich.syntax import Syntax

CODE_THEME = "monokai"


class _LeftHeading(Heading):
    """A heading aligned left, as chat text reads best."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = self.text.copy()
        text.justify = "left"
        yield text


@lru_cache(maxsize=64)
def _lexer(name: str) -> Lexer | str:
    # Rich looks the lexer up again for every code block and every render.
    try:
        lexer: Lexer = get_lexer_by_name(name)
    except ClassNotFound:
        return "text"
    return lexer


class _CodeBlock(CodeBlock):
    """A highlighted code block that reuses its lexer."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        yield Syntax(code, _lexer(self.lexer_name), theme=self.theme, word_wrap=True, padding=1)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Building a parser costs ~10 ms; Rich builds one per document.
    return MarkdownIt().enable("strikethrough").enable("table")


class ChatMarkdown(Markdown):
    """Rich Markdown with left-aligned headings, a shared parser and no hyperlinks."""

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "heading_open": _LeftHeading,
        "fence": _CodeBlock,
        "code_block": _CodeBlock,
    }

    def __init__(self, text: str) -> None:  # Rich's own __init__ builds a new parser
        self.markup = text
        self.parsed = _parser().parse(text)
        self.code_theme = CODE_THEME
        self.justify = None
        self.style = "none"
        # No OSC 8 hyperlinks: a link target is model text and stays plain.
        self.hyperlinks = False
        self.inline_code_lexer = None
        self.inline_code_theme = CODE_THEME

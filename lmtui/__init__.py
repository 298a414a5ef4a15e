"""lmtui: a keyboard-driven terminal chat and workbench for LM Studio and OpenAI servers."""

__version__ = "0.1.0"

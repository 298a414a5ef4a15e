"""The terminal app (Textual): chat screen, widgets and the launcher."""

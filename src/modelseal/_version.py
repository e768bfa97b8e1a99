"""The installed version (kept equal to pyproject.toml's by a packaging test)."""

__version__ = "0.1.0"

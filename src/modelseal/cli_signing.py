"""Argument parsing for `sign` and `verify` (registered by cli.py)."""

from __future__ import annotations

import argparse


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the signing commands (filled in by the signing work)."""

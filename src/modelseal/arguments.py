"""Argparse options shared by the CLI (`modelseal.cli`) and the git hooks (`modelseal.hooks`).

Both entry points import this module; it imports nothing of modelseal, so the hooks
never load the CLI (which sits below them in the layer order) to get an option.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="config file (default: the nearest .modelseal.yaml)")


def add_cache_options(parser: argparse.ArgumentParser) -> None:
    """--no-cache and --require-content: how `manifest`-like commands get digests."""
    parser.add_argument("--no-cache", action="store_true",
                        help="hash every file again instead of trusting the stat cache")
    parser.add_argument("--require-content", action="store_true",
                        help="fail on Git LFS pointers instead of using their oid as the digest")

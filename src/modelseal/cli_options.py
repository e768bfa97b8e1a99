"""Options several commands share, defined once so their names and help stay the same."""

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


def add_progress_options(parser: argparse.ArgumentParser) -> None:
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show a progress bar on stderr")
    bar.add_argument("--no-progress", dest="progress", action="store_false",
                     help="never show a progress bar")

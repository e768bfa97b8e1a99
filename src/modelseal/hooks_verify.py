"""The `verify` hook: not wired to the signature checks yet."""

from __future__ import annotations

import argparse

from modelseal.errors import UsageError


def run(args: argparse.Namespace) -> int:
    raise UsageError("the verify hook is not available in this build yet")

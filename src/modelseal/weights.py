"""Weight files: which names are model weights, and which of them no model tracks.

One list of weight extensions serves `init` (finding models), `check` and the hooks
(warning about weights outside every tracked model) and `report`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from modelseal.walk import MAX_DIRECTORY_DEPTH
from modelseal.words import plural

WEIGHT_EXTENSIONS = (".safetensors", ".gguf", ".onnx", ".bin", ".pt", ".pth", ".ckpt",
                     ".h5", ".tflite", ".mlmodel", ".keras")
INDEX_SUFFIX = ".index.json"  # sharded checkpoints: model.safetensors.index.json, ...
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})


def is_weight_file(name: str) -> bool:
    """A weight file by extension, or the index of a sharded checkpoint."""
    if name.endswith(INDEX_SUFFIX):
        name = name[: -len(INDEX_SUFFIX)]
    return name.lower().endswith(WEIGHT_EXTENSIONS)


def weight_files(root: Path) -> Iterator[PurePosixPath]:
    """Weight files under ``root`` (relative POSIX paths), in a stable order.

    Hidden directories (``.git``, caches), virtualenvs and ``node_modules`` are skipped;
    symlinked directories are not followed. A loop over a stack rather than os.walk
    (which recurses): a hostile tree thousands of levels deep is searched only down to
    `MAX_DIRECTORY_DEPTH` levels, and never crashes this advisory scan.
    """
    pending = [(PurePosixPath("."), 0)]
    while pending:
        relative, depth = pending.pop()
        directories, files = _entries(root / relative)
        for name in sorted(files):
            if is_weight_file(name):
                yield relative / name
        if depth < MAX_DIRECTORY_DEPTH:
            keep = sorted((d for d in directories if not d.startswith(".")
                           and d not in SKIPPED_DIRS and not _is_venv(root / relative / d)),
                          reverse=True)  # popped in name order
            pending.extend((relative / d, depth + 1) for d in keep)


def _entries(directory: Path) -> tuple[list[str], list[str]]:
    """(subdirectory names, file names) in ``directory``; nothing when it is unreadable."""
    directories: list[str] = []
    files: list[str] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                try:
                    is_dir, is_link = entry.is_dir(), entry.is_symlink()
                except OSError:
                    continue
                if not is_dir:
                    files.append(entry.name)
                elif not is_link:  # as os.walk: a linked directory is not entered
                    directories.append(entry.name)
    except OSError:
        pass
    return directories, files


def untracked_weight_dirs(root: Path, models: Iterable[Path],
                          files: Iterable[PurePosixPath] | None = None) -> dict[str, list[str]]:
    """Directory -> weight files in it that lie outside every model in ``models``.

    ``files`` are relative to ``root`` (default: every weight file under it). Paths in
    the result are relative POSIX paths ("." for ``root`` itself).
    """
    tracked = [_relative(root, model) for model in models]
    found: dict[str, list[str]] = {}
    for path in (weight_files(root) if files is None else files):
        if any(_inside(path, model) for model in tracked if model is not None):
            continue
        found.setdefault(str(path.parent), []).append(path.name)
    return found


def _relative(root: Path, model: Path) -> PurePosixPath | None:
    try:
        relative = model.resolve().relative_to(root.resolve())
    except ValueError:
        return None  # a model outside the repository covers nothing in it
    return PurePosixPath(relative.as_posix())


def _inside(path: PurePosixPath, model: PurePosixPath) -> bool:
    return str(model) == "." or path == model or model in path.parents


def _is_venv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file()


def describe(found: dict[str, list[str]]) -> list[str]:
    """One line per directory: where untracked weights are and which (the first few)."""
    lines = []
    for directory, names in sorted(found.items()):
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        lines.append(f"{directory}/ holds {plural(len(names), 'weight file')} no tracked "
                     f"model covers ({shown})")
    return lines

"""The trusted side of a pull request: config, signer policy and models from the base.

`report --base REV` judges the tree checked out at the head, so nothing in that tree
may choose what is checked or who is trusted. `.modelseal.yaml` and the key and root
files its `policy:` names are read from REV (the base branch) through git. The base's
model list is matched against the head's files, so a model the base tracks stays
checked whatever the head's config says; a model only the head's config lists is
checked too, with the base's default hashing options (never the head's `ignore` or
`allow_symlinks`). Without a config at REV, the head's config only finds models: the
policy is then what the flags give, and without flags no signer is trusted.

A change to those policy files in the pull request is reported (`policy_change`) with
a bounded diff, for a person to review; the new policy applies once merged.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from modelseal.config import CONFIG_NAME, Config, ModelEntry, find_config, parse_config
from modelseal.errors import ConfigError, UsageError
from modelseal.gitrepo import GitRepo, open_repo
from modelseal.report.model import MAX_POLICY_DIFF_CHARS, PolicyChange
from modelseal.targets import ModelTarget, targets_for
from modelseal.untrusted import UnsafeFile, read_regular_file

MAX_POLICY_FILE = 1024 * 1024  # a config, key or root larger than this is not one
MAX_DIFF_LINES = 300
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)


@dataclass(frozen=True)
class TrustedSide:
    """What the base revision says: its config (models matched against the head's
    files), the repository paths of the policy files it read, the models only the
    head's config lists, and notices for the user."""

    config: Config | None
    config_path: str | None
    policy_files: tuple[str, ...] = ()
    head_models: tuple[ModelEntry, ...] = ()
    notices: tuple[str, ...] = ()

    @property
    def models(self) -> tuple[ModelEntry, ...]:
        listed = self.config.models if self.config is not None else ()
        return (*listed, *self.head_models)

    @property
    def watched(self) -> tuple[str, ...]:
        """The repository paths of the policy files: a change to them is reported."""
        return (*self.policy_files, *([self.config_path] if self.config_path else []))


class RevisionFiles:
    """Files read from a revision into a private folder, so they can be used as paths.

    Only the installed code writes there; the folder is the caller's (a temporary
    directory), and a file is written under its repository path.
    """

    def __init__(self, repo: GitRepo, revision: str, folder: Path) -> None:
        self.repo = repo
        self.revision = revision
        self.folder = folder
        self.read: list[str] = []

    def get(self, repo_path: str) -> Path | None:
        """``repo_path`` at the revision as a local file; None when it is not there."""
        data = self.repo.read_small_blob(self.revision, repo_path, MAX_POLICY_FILE)
        if data is None:
            return None
        local = self.folder / repo_path
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(data)
        self.read.append(repo_path)
        return local

    def beside(self, config_path: str) -> RevisionResolver:
        """A resolver for the names a config at ``config_path`` gives (its directory)."""
        return RevisionResolver(self, posixpath.dirname(config_path))


@dataclass(frozen=True)
class RevisionResolver:
    """`config.FileResolver` for a config read from a revision."""

    files: RevisionFiles
    directory: str

    def __call__(self, name: str) -> Path | None:
        joined = posixpath.normpath(posixpath.join(self.directory, name))
        if joined.startswith("../") or joined == ".." or posixpath.isabs(name):
            return None  # outside the repository: not a file the revision holds
        return self.files.get(joined)


def read_trusted_side(start: Path, base: str, folder: Path, *,
                      config_path: str | None = None, find_head_models: bool = True
                      ) -> TrustedSide:
    """The base revision's config for the work tree holding ``start``.

    ``config_path`` names the config in the repository (default: the nearest
    `.modelseal.yaml` at ``base``, looking from ``start`` up to the root).
    ``find_head_models`` also reports the models only the head's own config lists.
    """
    with open_repo(start) as repo:
        if repo.resolve(base) is None:
            raise UsageError(f"unknown revision {base!r} (is it fetched?)")
        try:
            here = repo.relative(start)
        except ValueError:
            raise UsageError(f"{start} is outside the repository at {repo.root}") from None
        found = config_path or repo.nearest_file(base, here, CONFIG_NAME)
        if config_path is not None and repo.blob_size(base, config_path) is None:
            raise UsageError(f"{base}:{config_path} does not exist: the config named for the "
                             "base revision must be committed there")
        files = RevisionFiles(repo, base, folder / "base")
        config = _base_config(repo, base, found, files) if found else None
        notices = []
        if config is not None:
            notices += [f"{found} at {base} lists {missing}, which is not in the tree being "
                        "checked (removed in this change?)" for missing in config.missing_models]
        head_models: tuple[ModelEntry, ...] = ()
        if find_head_models:
            head_models, more = _head_only_models(start, config)
            notices += more
        return TrustedSide(config, found, tuple(files.read), head_models, tuple(notices))


def _base_config(repo: GitRepo, base: str, config_path: str, files: RevisionFiles) -> Config:
    data = repo.read_small_blob(base, config_path, MAX_POLICY_FILE)
    where = f"{base}:{config_path}"
    if data is None:
        raise ConfigError(f"{where}: larger than {MAX_POLICY_FILE} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text") from None
    root = repo.root / posixpath.dirname(config_path)
    return parse_config(text, root=root, files=files.beside(config_path),
                        missing_models_ok=True, where=where)


def _head_only_models(start: Path, base: Config | None
                      ) -> tuple[tuple[ModelEntry, ...], list[str]]:
    """Models the head's config lists that the base's does not, with the base's default
    hashing options: the head may add a model to be checked, never say how to read it."""
    found = find_config(start)
    if found is None:
        return (), []
    try:
        # the head's file: bounded, never followed through a link, parsed only for models
        text = read_regular_file(found, MAX_POLICY_FILE).decode("utf-8")
        head = parse_config(text, root=found.parent, files=lambda name: found.parent / name,
                            missing_models_ok=True, where=f"{found} (the tree being checked)")
    except ConfigError as exc:
        return (), [f"only the base's models are checked: {exc}"]
    except (OSError, UnicodeDecodeError, UnsafeFile, RecursionError) as exc:
        why = str(exc) if isinstance(exc, UnsafeFile) else type(exc).__name__
        return (), [f"only the base's models are checked: {found}: {why}"]
    known = {entry.path.resolve() for entry in (base.models if base else ())}
    defaults = base.defaults if base is not None else type(head.defaults)()
    extra = tuple(ModelEntry(entry.path, defaults, entry.line) for entry in head.models
                  if entry.path.resolve() not in known)
    return extra, []


def trusted_targets(paths: Sequence[str], base: str, folder: Path,
                    config_path: str | None = None) -> tuple[list[ModelTarget], TrustedSide]:
    """The models to check in the work tree, and the trusted side they were found with:
    ``paths`` hashed as the base's config says, or (none given) the base's models plus
    the ones only the head's config adds."""
    start = Path(paths[0]) if paths else Path.cwd()
    start = start if start.is_dir() else start.parent
    side = read_trusted_side(start, base, folder, config_path=config_path,
                             find_head_models=not paths)
    if paths:
        return targets_for(list(paths), side.config), side
    models = [ModelTarget(entry.path, entry.options) for entry in side.models]
    if not models:
        raise UsageError(f"no model path given and no models in the {CONFIG_NAME} of "
                         f"{base} or of the tree being checked")
    return models, side


# --- what the change does to the policy ----------------------------------------------------


def policy_change(start: Path, base: str, head: str, watched: Iterable[str], *,
                  strict: bool) -> PolicyChange | None:
    """The policy files ``base``..``head`` changes: every `.modelseal.yaml`, and the
    ``watched`` repository paths (the key and root files the base's policy read)."""
    wanted = set(watched)
    with open_repo(start) as repo:
        fork = repo.merge_base(base, head)
        changed = sorted(change.path for change in repo.changes_between(fork, head)
                         if change.path in wanted
                         or PurePosixPath(change.path).name == CONFIG_NAME)
        if not changed:
            return None
        lines: list[str] = []
        for path in changed:
            lines += _file_diff(repo, fork, head, path)
        diff, truncated = _bounded(lines)
        return PolicyChange(tuple(changed), diff, truncated, strict)


def _file_diff(repo: GitRepo, fork: str, head: str, path: str) -> list[str]:
    old, new = (_text_lines(repo, revision, path) for revision in (fork, head))
    if old is None or new is None:
        return [f"--- a/{path}", f"+++ b/{path}", "(binary or larger than "
                f"{MAX_POLICY_FILE} bytes: not shown)"]
    return list(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}", lineterm="", n=2))


def _text_lines(repo: GitRepo, revision: str, path: str) -> list[str] | None:
    """The file's lines ([] when absent); None when it is binary or too large to show."""
    if repo.blob_size(revision, path) is None:
        return []
    data = repo.read_small_blob(revision, path, MAX_POLICY_FILE)
    if data is None or b"\0" in data:
        return None
    return data.decode("utf-8", errors="replace").splitlines()


def _bounded(lines: Sequence[str]) -> tuple[str, bool]:
    kept: list[str] = []
    size = 0
    for line in lines[:MAX_DIFF_LINES]:
        line = line[:500]
        if size + len(line) + 1 > MAX_POLICY_DIFF_CHARS - 100:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept), len(kept) < len(lines) or any(len(line) > 500 for line in kept)


# --- key and root lists, as the CI inputs give them -------------------------------------------


@dataclass(frozen=True)
class PemEntry:
    """One entry of a key or root list: an inline PEM block, or a path."""

    pem: str | None = None
    path: str | None = None


def parse_pem_list(text: str) -> list[PemEntry]:
    """Inline PEM blocks and paths (one per line; '#' starts a comment line)."""
    entries = [PemEntry(pem=match.group(0) + "\n") for match in _PEM_BLOCK.finditer(text)]
    rest = _PEM_BLOCK.sub("\n", text)
    for line in rest.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "-----BEGIN" in line or "-----END" in line:
            raise UsageError(f"a PEM block is not complete near {line[:40]!r}: give each key "
                             "or certificate from -----BEGIN to its -----END line")
        entries.append(PemEntry(path=line))
    return entries


def materialize_pem_list(text: str, what: str, folder: Path, start: Path,
                         base: str | None) -> tuple[list[Path], list[str]]:
    """Local files for a key or root list, and the paths it named (for the "verify
    locally" command). Paths are read from ``base`` when given (the trusted side of
    a pull request), else from the work tree."""
    files: list[Path] = []
    named: list[str] = []
    for number, entry in enumerate(parse_pem_list(text), start=1):
        if entry.pem is not None:
            local = folder / "inline" / f"{what.replace(' ', '-')}-{number}.pem"
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_text(entry.pem, encoding="ascii", errors="replace")
            files.append(local)
            continue
        assert entry.path is not None
        named.append(entry.path)
        files.append(listed_file(entry.path, what, folder, start, base))
    return files, named


def listed_file(path: str, what: str, folder: Path, start: Path, base: str | None) -> Path:
    """The policy file at repository path ``path``: from ``base`` when given (written
    under ``folder``), else the work tree's."""
    if base is None:
        local = Path(path)
        if not local.is_file():
            raise UsageError(f"{what} file {path} does not exist")
        return local
    with open_repo(start) as repo:
        relative = posixpath.normpath(path.replace("\\", "/"))
        got = None if relative.startswith("../") or posixpath.isabs(relative) else \
            RevisionFiles(repo, base, folder / "listed").get(relative)
    if got is None:
        raise UsageError(f"{what} {path} is not a file at the base revision {base}: list "
                         "paths as they are in the repository there, or give the PEM inline")
    return got

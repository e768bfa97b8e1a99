"""All git: the repository root and git directory, staged and committed changes, LFS
attributes, base..head, and the commands CI runs (commit, push). No other module
runs git.

GitPython is used only through its command wrapper (``repo.git.*``), inside
``with Repo(...) as repo:`` so its helper processes are closed. Everything is asked
of git itself (``diff -z``, ``ls-files -s``, ``ls-tree -l``, ``check-attr``, the
``cat-file --batch`` process); GitPython's own index parser is never used, so split
indexes, sparse checkouts and new index versions behave exactly as git says.

GitPython is imported lazily: `check` asks git one question (where the git directory
is, for the stat cache) and must start fast, so that one runs ``git rev-parse``
directly (`git_dir`).

Paths exchanged with git are repository-relative POSIX strings.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from modelseal import lfs
from modelseal.errors import UsageError
from modelseal.manifest import Manifest, ManifestDiff, diff_manifests
from modelseal.targets import ModelTarget
from modelseal.walk import SINGLE_FILE_NAME

if TYPE_CHECKING:
    from git import Repo
    from git.exc import GitCommandError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree
NULL_REVISION = "0" * 40


class GitFailed(UsageError):
    """A git command failed (the message has git's own first line of complaint)."""


def _command_error() -> type[GitCommandError]:
    """GitPython's error for a failed command, imported when a command has run."""
    from git.exc import GitCommandError

    return GitCommandError


@dataclass(frozen=True)
class GitResult:
    """A git command's exit status and output, for callers that judge it themselves."""

    status: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Change:
    """One changed path: git's status letter (A, M, D, T, ...) and the path."""

    status: str
    path: str


class GitRepo:
    """A git work tree, asked questions through git's own commands."""

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        self.root = Path(repo.working_tree_dir or ".").resolve()

    def _lines(self, *args: str) -> list[str]:
        """Run ``git <args>`` (with -z output) and split on NUL."""
        try:
            out: str = self._repo.git.execute(["git", "--literal-pathspecs", *args],
                                              strip_newline_in_stdout=False)
        except _command_error() as exc:
            raise GitFailed(f"`git {args[0]}` failed in {self.root}: {_complaint(exc)}") from None
        return [item for item in out.split("\0") if item]

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> GitResult:
        """``git <args>`` as it is, its status and output returned (never raised on).

        ``env`` is added to the environment (the push credentials travel there, never
        on the command line).
        """
        status, out, err = self._repo.git.execute(
            ["git", "--literal-pathspecs", *args], with_exceptions=False,
            with_extended_output=True, env=dict(env) if env is not None else None)
        return GitResult(int(status or 0), str(out), str(err))

    def checked(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """``git <args>``'s output; GitFailed (with git's complaint) when it fails."""
        done = self.run(*args, env=env)
        if done.status != 0:
            complaint = done.stderr.strip() or done.stdout.strip()
            command = next((arg for arg in args if not arg.startswith("-") and "=" not in arg),
                           "")
            raise GitFailed(f"git {command} failed: {complaint}")
        return done.stdout

    def relative(self, path: Path) -> str:
        """``path`` (absolute or relative to the cwd) as a repository-relative POSIX path."""
        return relative_to_root(self.root, path)

    def has_commits(self) -> bool:
        return self.resolve("HEAD") is not None

    def resolve(self, revision: str) -> str | None:
        """The commit ``revision`` names, or None when it does not exist."""
        try:
            out: str = self._repo.git.rev_parse("--verify", "--quiet", f"{revision}^{{commit}}")
        except _command_error():
            return None
        return out.strip() or None

    def staged_changes(self) -> list[Change]:
        """What the next commit changes, deletions included (renames as delete + add)."""
        try:
            return self._staged_since("HEAD")
        except GitFailed:
            if self.has_commits():
                raise
            return self._staged_since(EMPTY_TREE)  # the first commit

    def _staged_since(self, base: str) -> list[Change]:
        return _changes(self._lines("diff", "--cached", "--name-status", "--no-renames",
                                    "-z", base, "--"))

    def changes_between(self, base: str, head: str) -> list[Change]:
        """What changed from ``base`` to ``head`` (a null or missing base: everything)."""
        start = base if base != NULL_REVISION and self.resolve(base) else EMPTY_TREE
        return _changes(self._lines("diff", "--name-status", "--no-renames", "-z",
                                    start, head, "--"))

    def merge_base(self, base: str, head: str) -> str:
        try:
            out: str = self._repo.git.merge_base(base, head)
        except _command_error():
            raise UsageError(f"no common ancestor of {base} and {head} (is the base "
                             "branch fetched? try `git fetch --unshallow`)") from None
        return out.strip()

    def unstaged(self, paths: Sequence[str]) -> list[str]:
        """Those of ``paths`` whose work-tree content is not what is staged (or untracked)."""
        if not paths:
            return []
        found = []
        for entry in self._lines("status", "--porcelain=v1", "-z", "--no-renames",
                                 "--untracked-files=all",
                                 "--", *paths):
            state, path = entry[:2], entry[3:]
            if state == "??" or state[1] not in (" ", "!"):
                found.append(path)
        return found

    def lfs_tracked(self, paths: Sequence[str]) -> set[str]:
        """The paths whose ``filter`` attribute is ``lfs``."""
        if not paths:
            return set()
        items = self._lines("check-attr", "-z", "filter", "--", *paths)
        return {items[i] for i in range(0, len(items) - 2, 3) if items[i + 2] == "lfs"}

    def read_blob(self, revision: str, path: str) -> bytes | None:
        """The content of ``path`` at ``revision``, or None when it is not there."""
        try:
            _, kind, _, data = self._repo.git.get_object_data(f"{revision}:{path}")
        except (_command_error(), ValueError):
            return None
        return data if kind in ("blob", b"blob") else None  # GitPython gives bytes here

    def blob_size(self, revision: str, path: str) -> int | None:
        """The size of the file ``path`` at ``revision`` (None: no such file there)."""
        for line in self._lines("ls-tree", "-l", "-z", revision, "--", path):
            meta, _, name = line.partition("\t")
            _mode, kind, _blob, size = meta.split()
            if name == path and kind == "blob" and size.isdigit():
                return int(size)
        return None

    def read_small_blob(self, revision: str, path: str, limit: int) -> bytes | None:
        """``path`` at ``revision`` when it is a file of at most ``limit`` bytes, else None
        (its size is never trusted to be small: the file may come from a pull request)."""
        size = self.blob_size(revision, path)
        if size is None or size > limit:
            return None
        return self.read_blob(revision, path)

    def nearest_file(self, revision: str, directory: str, name: str) -> str | None:
        """The repository path of ``name`` in ``directory`` or its nearest parent that has
        one at ``revision`` (``directory`` is repository-relative; "" is the root)."""
        parts = [part for part in PurePosixPath(directory).parts if part not in ("", ".")]
        for depth in range(len(parts), -1, -1):
            candidate = "/".join([*parts[:depth], name])
            if self.blob_size(revision, candidate) is not None:
                return candidate
        return None

    def tree_sizes(self, revision: str, prefix: str) -> dict[str, int]:
        """Size of every file under ``prefix`` at ``revision``, by repository path.

        An LFS pointer counts as the size of the content it stands for.
        """
        sizes: dict[str, int] = {}
        pathspec = prefix or "."
        for line in self._lines("ls-tree", "-r", "-l", "-z", revision, "--", pathspec):
            meta, _, path = line.partition("\t")
            _mode, kind, blob, size = meta.split()
            if kind != "blob" or not size.isdigit():
                continue
            sizes[path] = self._content_size(blob, int(size))
        return sizes

    def _content_size(self, blob: str, size: int) -> int:
        if size >= lfs.MAX_POINTER_SIZE:
            return size
        _, _, _, data = self._repo.git.get_object_data(blob)
        pointer = lfs.parse_pointer(data)
        return pointer.size if pointer else size

    def hooks_dir(self) -> Path:
        """Where git looks for hooks (``core.hooksPath`` respected)."""
        out: str = self._repo.git.rev_parse("--git-path", "hooks")
        path = Path(out.strip())
        return path if path.is_absolute() else (self.root / path)


def _complaint(exc: GitCommandError) -> str:
    """Git's first line of stderr (GitPython wraps it as ``stderr: '...'``)."""
    text = str(exc.stderr or "").strip()
    if text.startswith("stderr: '") and text.endswith("'"):
        text = text[len("stderr: '"):-1].strip()
    return text.splitlines()[0] if text else f"exit status {exc.status}"


def _changes(items: list[str]) -> list[Change]:
    return [Change(items[i][0], items[i + 1]) for i in range(0, len(items) - 1, 2)]


@contextmanager
def open_repo(start: Path) -> Iterator[GitRepo]:
    """The repository holding ``start``; UsageError when there is none."""
    from git import Repo
    from git.exc import InvalidGitRepositoryError, NoSuchPathError

    try:
        with Repo(start, search_parent_directories=True) as repo:
            if repo.bare:
                raise UsageError(f"{start} is in a bare git repository; run this in a work tree")
            yield GitRepo(repo)
    except (InvalidGitRepositoryError, NoSuchPathError):
        raise UsageError(f"{start} is not inside a git repository") from None


def find_repo_root(start: Path) -> Path | None:
    """The top of the work tree holding ``start``, or None outside git."""
    try:
        with open_repo(start) as repo:
            return repo.root
    except UsageError:
        return None


def commit_exists(start: Path, revision: str) -> bool:
    """Whether ``revision`` names a commit in the repository holding ``start``."""
    try:
        with open_repo(start) as repo:
            return repo.resolve(revision) is not None
    except UsageError:
        return False


def git_dir(start: Path, *, common: bool = False) -> Path | None:
    """The git directory of the repository holding the directory ``start``, as git
    itself resolves it, or None outside one. ``common``: the directory shared by all
    worktrees (``--git-common-dir``) rather than this worktree's own (``--git-dir``)."""
    return _ask_git_dir(str(start.resolve()), "--git-common-dir" if common else "--git-dir")


def git_dir_above(model: Path) -> Path | None:
    """The shared git directory of the repository holding ``model``, asked from
    *above* it; None outside git or when that directory lies inside ``model``.

    A `.git` file or directory inside a model (a downloaded model is untrusted) must
    never be taken for the repository: it would choose where modelseal keeps state
    such as the stat cache, and a planted cache could make a changed file look
    unchanged.
    """
    real = model.resolve()
    found = git_dir(real.parent, common=True)
    return found if found is not None and not found.is_relative_to(real) else None


@functools.lru_cache(maxsize=64)
def _ask_git_dir(start: str, option: str) -> Path | None:
    # git itself, not GitPython: `check` must start fast (see tests/integration/test_cli.py)
    try:
        done = subprocess.run(["git", "rev-parse", option], cwd=start,
                              env=_absolute_git_env(), capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None  # no git, or no such directory
    found = done.stdout.strip()
    if done.returncode != 0 or not found:
        return None
    return (Path(start) / found).resolve()  # git prints it relative to ``start``


def _absolute_git_env() -> dict[str, str]:
    # inside a git hook GIT_DIR and friends may be relative to our working directory,
    # while git runs elsewhere here
    env = dict(os.environ)
    for name in ("GIT_DIR", "GIT_COMMON_DIR", "GIT_WORK_TREE"):
        if env.get(name) and not os.path.isabs(env[name]):
            env[name] = os.path.abspath(env[name])
    return env


def relative_to_root(root: Path, path: Path) -> str:
    """``path`` (absolute or relative to the cwd) relative to ``root``, as POSIX.

    Raises ValueError when ``path`` is outside ``root``.
    """
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        relative = absolute.resolve().relative_to(root.resolve())
    return relative.as_posix()


def model_relpath(root: Path, target: ModelTarget) -> str:
    """``target``'s path relative to ``root`` ("" for the root itself)."""
    relative = relative_to_root(root, target.path)
    return "" if relative == "." else relative


def touched_models(root: Path, paths: Iterable[str],
                   targets: Sequence[ModelTarget]) -> list[ModelTarget]:
    """The targets that contain (or are, or keep their manifest at) one of ``paths``.

    ``paths`` are relative to ``root`` (e.g. the repository root), as git prints them.
    """
    wanted = [PurePosixPath(path) for path in paths]
    touched = []
    for target in targets:
        model = PurePosixPath(model_relpath(root, target))
        manifest = PurePosixPath(relative_to_root(root, target.manifest_path))
        if any(path == manifest or _is_within(path, model) for path in wanted):
            touched.append(target)
    return touched


def _is_within(path: PurePosixPath, directory: PurePosixPath) -> bool:
    return str(directory) in ("", ".") or path == directory or directory in path.parents


@dataclass(frozen=True)
class ModelRevisions:
    """One model compared between two revisions, for reports.

    ``base``/``head`` are the committed manifests (None where there is none); sizes
    are per model-relative file name, taken from git (LFS pointers resolved).
    """

    target: ModelTarget
    path: str
    base: Manifest | None
    head: Manifest | None
    diff: ManifestDiff
    base_sizes: dict[str, int] = field(default_factory=dict)
    head_sizes: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.base != self.head


def compare_revisions(start: Path, targets: Sequence[ModelTarget], base: str,
                      head: str = "HEAD", *, merge_base: bool = True,
                      only_changed: bool = True) -> list[ModelRevisions]:
    """Per model: its manifest at ``base`` and at ``head`` and their diff.

    ``merge_base`` compares against the merge base of the two (what a pull request
    changes); ``only_changed`` leaves out models none of whose files changed.
    """
    with open_repo(start) as repo:
        for revision in (base, head):
            if repo.resolve(revision) is None:
                raise UsageError(f"unknown revision {revision!r} (is it fetched?)")
        start_rev = repo.merge_base(base, head) if merge_base else base
        chosen = list(targets)
        if only_changed:
            changed = [change.path for change in repo.changes_between(start_rev, head)]
            chosen = touched_models(repo.root, changed, chosen)
        return [_compare_one(repo, target, start_rev, head) for target in chosen]


def _compare_one(repo: GitRepo, target: ModelTarget, base: str, head: str) -> ModelRevisions:
    path = model_relpath(repo.root, target)
    manifest_path = repo.relative(target.manifest_path)
    before = _manifest_at(repo, base, manifest_path)
    after = _manifest_at(repo, head, manifest_path)
    base_sizes = _model_sizes(repo, base, path, target)
    head_sizes = _model_sizes(repo, head, path, target)
    if after is None and before is not None:
        after = Manifest(before.name, before.serialization, ())  # model removed
    diff = (diff_manifests(before, after, sizes=head_sizes, old_sizes=base_sizes)
            if after is not None else ManifestDiff())
    head_manifest = after if after is not None and after.resources else None
    return ModelRevisions(target, path, before, head_manifest, diff, base_sizes, head_sizes)


def _manifest_at(repo: GitRepo, revision: str, path: str) -> Manifest | None:
    data = repo.read_blob(revision, path)
    return None if data is None else Manifest.from_json(data, source=f"{revision}:{path}")


def _model_sizes(repo: GitRepo, revision: str, path: str,
                 target: ModelTarget) -> dict[str, int]:
    sizes = repo.tree_sizes(revision, path)
    if target.is_file:
        return {SINGLE_FILE_NAME: sizes[path]} if path in sizes else {}
    prefix = f"{path}/" if path else ""
    return {name[len(prefix):]: size for name, size in sizes.items() if name.startswith(prefix)}

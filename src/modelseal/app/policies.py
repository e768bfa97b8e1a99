"""Where a command's signer policy comes from, and the policy itself.

A policy is built from the trusted side only: the config named by `--config`, or the
config at the pull request's base revision (`--base`, see `modelseal.basepolicy`), or the
nearest `.modelseal.yaml` when neither is given, with the flags or CI inputs on top.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal.errors import UsageError

if TYPE_CHECKING:
    from modelseal.config import Config
    from modelseal.policy import Policy, PolicyFlags


@dataclass(frozen=True)
class PolicySource:
    """Which config holds the policy: `--config`, else the one at `--base`, else the
    nearest one; `base_config` names the config inside the base revision."""

    config: Path | None = None
    base: str | None = None
    base_config: str | None = None

    def check(self) -> None:
        if self.base_config and (self.base is None or self.config):
            raise UsageError("--base-config names the config at the --base revision: use it "
                             "with --base and without --config")


@dataclass(frozen=True)
class PolicyRequest:
    """The policy flags, plus `--key-list`/`--cert-chain-list` (the CI inputs' form:
    inline PEM blocks or paths read from the base revision, one per line)."""

    flags: PolicyFlags = field(default_factory=lambda: _no_flags())
    key_lists: tuple[str, ...] = ()
    certificate_root_lists: tuple[str, ...] = ()


def _no_flags() -> PolicyFlags:
    # imported here: `check --base` reads PolicySource, and `check` loads no policy code
    from modelseal.policy import PolicyFlags

    return PolicyFlags()


@dataclass(frozen=True)
class ListedFiles:
    """The request with its listed PEMs added as files, the `verify` flags that name the
    listed paths (inline PEM has no path to name), and the listed repository paths."""

    request: PolicyRequest
    flags: tuple[str, ...]
    paths: tuple[str, ...]


@contextmanager
def policy_folder() -> Iterator[Path]:
    """A private folder for policy files read from git, kept while models are verified."""
    with tempfile.TemporaryDirectory(prefix="modelseal-policy-") as folder:
        yield Path(folder)


def policy_config(source: PolicySource, folder: Path) -> Config | None:
    """The config whose policy applies when no model PATH resolves one (stores,
    registries): from the base revision when given, else the named or nearest one."""
    return policy_config_and_watched(source, folder)[0]


def policy_config_and_watched(source: PolicySource, folder: Path
                              ) -> tuple[Config | None, tuple[str, ...]]:
    """`policy_config`, and the repository paths of the policy files read from the base."""
    from modelseal.targets import load_nearest_config

    source.check()
    if source.base is None or source.config is not None:
        return load_nearest_config(Path.cwd(), source.config), ()
    from modelseal.basepolicy import read_trusted_side

    side = read_trusted_side(Path.cwd(), source.base, folder, config_path=source.base_config,
                             find_head_models=False)
    return side.config, side.watched


def with_listed_files(request: PolicyRequest, base: str | None, folder: Path) -> ListedFiles:
    """Write the listed PEM blocks (or the listed paths, read from `base` or the work
    tree) into `folder` and add them to the flags' keys and roots."""
    from modelseal.basepolicy import materialize_pem_list

    flags = request.flags
    keys, roots = list(flags.keys), list(flags.certificate_roots)
    words: list[str] = []
    listed: list[str] = []
    for texts, what, into, flag in ((request.key_lists, "public key", keys, "--key"),
                                    (request.certificate_root_lists, "certificate root", roots,
                                     "--cert-chain")):
        for text in texts:
            files, named = materialize_pem_list(text, what, folder, Path.cwd(), base)
            into.extend(files)
            listed += named
            words += [word for path in named for word in (flag, path)]
    merged = dataclasses.replace(flags, keys=tuple(keys), certificate_roots=tuple(roots))
    return ListedFiles(PolicyRequest(merged), tuple(words), tuple(listed))


def effective_policy(flags: PolicyFlags, config: Config | None) -> Policy:
    """The config's `policy:` section with the given flags on top."""
    from modelseal.policy import build_policy

    return build_policy(config.policy if config else None, flags)


def verify_policy(request: PolicyRequest, base: str | None, config: Config | None,
                  folder: Path) -> Policy:
    """`effective_policy` with the listed key and root files added."""
    return effective_policy(with_listed_files(request, base, folder).request.flags, config)


def trust_config_file(path: Path | None, base: str | None, folder: Path
                      ) -> tuple[Path | None, tuple[str, ...]]:
    """The Sigstore trust config to verify with, and its repository path when it was
    read from the base revision.

    On a pull request (``base`` given) a trust config inside the repository is the
    change's own copy: it is read from the base instead, as listed keys and roots are,
    so a change cannot choose the Fulcio CA and Rekor keys its own signature is checked
    with. A file outside the repository (the runner's, the user's) is used as it is.
    """
    if path is None or base is None:
        return path, ()
    from modelseal.basepolicy import listed_file
    from modelseal.gitrepo import find_repo_root

    root = find_repo_root(Path.cwd())
    absolute = Path(os.path.abspath(path))  # lexically: a link in the tree is the tree's
    if root is None or not absolute.is_relative_to(root):
        return path, ()
    relative = absolute.relative_to(root).as_posix()
    try:
        local = listed_file(relative, "Sigstore trust config", folder, Path.cwd(), base)
    except UsageError:
        raise UsageError(f"Sigstore trust config {relative} is in the repository but not at "
                         f"the base revision {base}: a pull request cannot bring its own; "
                         "commit it to the base branch first, or keep it outside the "
                         "repository (e.g. in $RUNNER_TEMP)") from None
    return local, (relative,)

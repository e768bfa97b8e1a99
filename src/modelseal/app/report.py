"""The report use case: check, verify and compare models into a `Report`.

Typed inputs in (`ReportRequest`), a `Report` and notices out; nothing is printed.
With a base revision (a pull request) the config and its policy files come from the
base revision unless `--config` names a file: see `modelseal.basepolicy`. Each model
is hashed once (see `report.build.build_report`). Saved reports (`--from-json`,
`comment --report`) are read here too.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal.app import policies, selection
from modelseal.errors import UsageError

if TYPE_CHECKING:
    from modelseal.config import Config
    from modelseal.report.model import ModelReport, Report, UntrackedWeights
    from modelseal.targets import ModelTarget
    from modelseal.verifying import VerifyOptions

# Report rows for registry references (oci://, ollama://), verified as `verify` does;
# the store layer provides it, given the verify options and the reproducing flags.
RegistryRows = Callable[["VerifyOptions", list[str]],
                        tuple[tuple["ModelReport", ...], list[str]]]


@dataclass(frozen=True)
class ReportRequest:
    """What to report on and against which policy.

    ``models.paths`` are the directory/file models; ``references`` the registry ones.
    ``named``: PATHs were given (none: the whole repository, untracked weights too).
    """

    models: selection.ModelRequest = field(default_factory=selection.ModelRequest)
    policy: policies.PolicyRequest = field(default_factory=policies.PolicyRequest)
    references: tuple[str, ...] = ()
    named: bool = False
    base: str | None = None
    head: str = "HEAD"
    base_config: str | None = None
    report_id: str | None = None
    trust_config: Path | None = None
    offline: bool = False
    ignore_unsigned_files: bool = False
    progress: bool | None = None

    @property
    def source(self) -> policies.PolicySource:
        return policies.PolicySource(self.models.config, self.base, self.base_config)


@dataclass(frozen=True)
class BuiltReport:
    report: Report
    notices: tuple[str, ...] = ()


def build(request: ReportRequest, registry_rows: RegistryRows | None = None) -> BuiltReport:
    """Check, verify and compare the models the request names."""
    from modelseal.report.render import check_report_id

    check_report_id(request.report_id)
    request.source.check()
    if request.references and request.models.signature is not None and (
            request.models.paths or len(request.references) != 1):
        raise UsageError("--signature names one bundle; pass exactly one model path with it")
    # policy files read from git live here while the models are verified
    with tempfile.TemporaryDirectory(prefix="modelseal-policy-") as folder:
        return _build(request, Path(folder), registry_rows)


def _build(request: ReportRequest, folder: Path,
           registry_rows: RegistryRows | None) -> BuiltReport:
    from modelseal import verifying
    from modelseal.engine import HashRun
    from modelseal.report.build import build_report, report_root

    root = report_root(Path.cwd())  # the report's paths are relative to it
    watched: tuple[str, ...] = ()  # repository paths of the policy files read from --base
    models: list[ModelTarget] = []
    notices: list[str] = []
    if request.references and not request.models.paths:  # registry models only
        config, watched = policies.policy_config_and_watched(request.source, folder)
    elif request.base is not None and not request.models.config:
        chosen = selection.base_models(request.models, request.base, folder,
                                       request.base_config)
        notices += chosen.notices
        models, config, watched = chosen.models, chosen.config, chosen.watched
    else:
        chosen = selection.work_tree_models(request.models)
        models, config = chosen.models, chosen.config
    listed = policies.with_listed_files(request.policy, request.base, folder)
    policy = policies.effective_policy(listed.request.flags, config)
    trust_config, trust_watched = policies.trust_config_file(request.trust_config,
                                                             request.base, folder)
    watched += trust_watched
    verify_options = verifying.VerifyOptions(
        # with only a registry model, --signature is that reference's (verify_reference)
        policy=policy, signature=request.models.signature if models else None,
        ignore_unsigned_files=request.ignore_unsigned_files, offline=request.offline,
        trust_config=trust_config, progress=request.progress)
    # listed paths from --base are repository paths already; local ones are made so
    flags = verify_flags(request, root) + (
        list(listed.flags) if request.base is not None else _portable_flags(listed.flags, root))
    report, more = build_report(
        models, verify_options, HashRun(progress=request.progress), base=request.base,
        head=request.head, report_id=request.report_id, all_paths=request.models.paths,
        root=root, verify_flags=flags)
    notices += more
    if request.references and registry_rows is not None:
        rows, more = registry_rows(verify_options, flags)
        notices += more
        report = replace(report, models=report.models + rows,
                         verify_command=report.verify_command if request.models.paths else "")
    report = replace(report, untracked_weights=() if request.named else
                     _untracked(models, config, policy.strict))
    if request.base is not None:
        from modelseal.basepolicy import policy_change

        # the key and root files the inputs name are policy too: a change to them is shown
        change = policy_change(Path.cwd(), request.base, request.head,
                               (*watched, *listed.paths), strict=policy.strict)
        report = replace(report, policy_change=change)
    return BuiltReport(report, tuple(notices))


def _untracked(models: list[ModelTarget], config: Config | None,
               strict: bool) -> tuple[UntrackedWeights, ...]:
    """With no PATH the whole repository is reported: weights no model covers too."""
    from modelseal.report.model import MAX_UNTRACKED_DIRS, MAX_UNTRACKED_FILES
    from modelseal.report.model import UntrackedWeights as Entry
    from modelseal.weights import untracked_weight_dirs

    if config is None:
        return ()
    found = untracked_weight_dirs(config.root, [model.path for model in models])
    return tuple(Entry(directory, tuple(names[:MAX_UNTRACKED_FILES]), strict)
                 for directory, names in sorted(found.items())[:MAX_UNTRACKED_DIRS])


# What a reader types for a file flag whose file is not in the repository.
_FILE_PLACEHOLDERS = {"config": "<CONFIG_YAML>", "key": "<PUBLIC_KEY_PEM>",
                      "cert_chain": "<CA_CERT_PEM>", "trust_config": "<TRUST_CONFIG_JSON>",
                      "signature": "<BUNDLE>"}


def _portable_flags(flags: Sequence[str], root: Path) -> list[str]:
    """``--key PATH``/``--cert-chain PATH`` pairs with each path made portable."""
    from modelseal.report.build import portable_path
    from modelseal.report.escape import Placeholder

    words = list(flags)
    for index in range(1, len(words), 2):
        name = words[index - 1].removeprefix("--").replace("-", "_")
        words[index] = portable_path(words[index], root, Placeholder(_FILE_PLACEHOLDERS[name]))
    return words


def verify_flags(request: ReportRequest, root: Path) -> list[str]:
    """The `verify` options that reproduce this run's policy, for "verify locally".

    Files are named relative to ``root`` (the repository), or by a placeholder when
    they are outside it: the report is read on other machines.
    """
    from modelseal.report.build import portable_path
    from modelseal.report.escape import Placeholder

    def file_flag(name: str, path: Path | str) -> list[str]:
        placeholder = Placeholder(_FILE_PLACEHOLDERS[name])
        return ["--" + name.replace("_", "-"), portable_path(path, root, placeholder)]

    given = request.policy.flags
    config = request.models.config
    flags: list[str] = file_flag("config", config) if config else []
    flags += [word for key in given.keys for word in file_flag("key", key)]
    flags += [word for cert in given.certificate_roots for word in file_flag("cert_chain", cert)]
    for name in ("identity", "identity_regex", "issuer", "repository", "workflow", "ref",
                 "gitlab_project", "gitlab_host", "not_before"):
        value = getattr(given, name)
        if value:
            flags += ["--" + name.replace("_", "-"), str(value)]
    if request.trust_config:
        flags += file_flag("trust_config", request.trust_config)
    if request.models.signature:
        flags += file_flag("signature", request.models.signature)
    flags += [word for path in request.models.ignore for word in ("--ignore", path)]
    for name, on in (("strict", given.strict), ("offline", request.offline),
                     ("ignore_unsigned_files", request.ignore_unsigned_files)):
        if on:
            flags.append("--" + name.replace("_", "-"))
    return flags


# --- saved reports -------------------------------------------------------------------


def load_report_file(path: Path, report_id: str | None, *,
                     follow_symlinks: bool = True) -> Report | None:
    """A JSON report as a `Report` (``report_id`` replacing its id); None for markdown.

    ``follow_symlinks`` is False for files a fork's run left behind (the relay).
    """
    from modelseal.forge.relay import read_text
    from modelseal.report.model import report_from_json
    from modelseal.untrusted import UnsafeJson, loads_json

    text = read_text(path, follow_symlinks=follow_symlinks)
    if not text.lstrip().startswith("{"):
        return None
    try:
        data = loads_json(text)
    except UnsafeJson as exc:
        raise UsageError(f"{path}: {exc}") from None
    report = report_from_json(data, source=str(path))
    return replace(report, report_id=report_id) if report_id else report


def markdown_file_body(path: Path, report_id: str | None, fmt: str) -> str:
    """A markdown report posted as is, behind our marker, within the forge's limit."""
    from modelseal.forge.relay import read_text
    from modelseal.report import formats, render

    text = read_text(path)
    marker = render.marker_lines(report_id)
    lines = text.split("\n")
    while lines and lines[0].startswith("<!-- modelseal-report"):
        lines.pop(0)  # a marker from `report --format markdown`; ours replaces it
    body = marker + "\n".join(lines)
    limit = formats.FORMATS[fmt].limit
    assert limit is not None
    if not limit.fits(body):
        raise UsageError(f"{path} is over {limit.what}: pass the JSON report instead, which "
                         "is shrunk to fit")
    return body


def comment_body(report: Report | None, markdown: Path | None, fmt: str,
                 report_id: str | None, template: Path | None = None) -> str:
    """What `comment` posts: the report rendered once, or a markdown file as is."""
    from modelseal.report.render import render

    if report is not None:
        return render(report, fmt, template=template)
    assert markdown is not None
    return markdown_file_body(markdown, report_id, fmt)


"""The `report` and `comment` commands: argument parsing, output and exit codes.

Registered by cli.py. They take the same model and policy options as `verify`
(shared with cli_signing). Jinja2, the verifier and git are imported only when a
command runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelseal.app import policies, selection
from modelseal.cli import options
from modelseal.cli import registry as cli_registry
from modelseal.errors import EXIT_FAILED, EXIT_OK, UsageError, printable
from modelseal.forge.forges import add_forge_options, get_forge
from modelseal.untrusted import UnsafeFile, UnsafeJson, loads_json, read_regular_file

if TYPE_CHECKING:
    from modelseal.config import Config
    from modelseal.forge.env import GitHubContext
    from modelseal.forge.github import PullRequestComments
    from modelseal.report.model import Report, UntrackedWeights
    from modelseal.targets import ModelTarget

REPORT_FORMATS = ("markdown", "text", "json", "junit", "github-summary", "gitlab")

_REPORT_EXAMPLES = """\
  modelseal report --base origin/main                       # markdown, as the PR comment
  modelseal report models/bert --base main --format text --repository acme/models
  modelseal report --base "$BASE_SHA" --format json --output modelseal-report.json
  modelseal report --base main --format junit --output modelseal-junit.xml --exit-zero
  modelseal report --base main --template my-comment.md.j2
  modelseal report models/bert oci://registry.example/acme/bert:v1 --key signer.pub"""

_COMMENT_EXAMPLES = """\
  modelseal comment --github --base "$BASE_SHA" --repository acme/models --workflow sign.yml
  modelseal comment --github --report modelseal-report.json --id llm
  modelseal comment --gitlab --base "$CI_MERGE_REQUEST_DIFF_BASE_SHA" --gitlab-project acme/ml
  modelseal comment --github --dry-run --report modelseal-report.json
  modelseal comment --github --relay modelseal-comment     # workflow_run job for fork PRs"""

# What a fork's run leaves for the workflow_run job (the Action's relay uses the same).
RELAY_META = "pr.json"  # {"pr": N, "head_sha": SHA, "repository": OWNER/REPO, "id": ID}
RELAY_REPORT = "report.json"


def configure(name: str, sub: argparse.ArgumentParser) -> None:
    {"report": _configure_report, "comment": _configure_comment}[name](sub)


def _configure_report(report: argparse.ArgumentParser) -> None:
    options.runs(report, run_report, _REPORT_EXAMPLES)
    _add_report_inputs(report)
    report.add_argument("--format", choices=REPORT_FORMATS, default="markdown",
                        help="markdown: the GitHub PR comment; github-summary: a job summary; "
                             "gitlab: the MR note; text, json (schema report-v1), junit "
                             "(default: markdown)")
    report.add_argument("--output", type=Path, metavar="FILE",
                        help="write to FILE (atomically) instead of stdout")
    report.add_argument("--from-json", type=Path, metavar="FILE",
                        help="render a saved `--format json` report instead of checking the "
                             "models again")


def _configure_comment(comment: argparse.ArgumentParser) -> None:
    options.runs(comment, run_comment, _COMMENT_EXAMPLES)
    add_forge_options(comment)
    _add_comment_options(comment)
    _add_report_inputs(comment)


def _add_report_inputs(sub: argparse.ArgumentParser) -> None:
    options.add_model_options(sub)
    options.add_policy_options(sub)
    options.add_verify_options(sub)
    options.add_transport_options(sub)
    group = sub.add_argument_group("report")
    group.add_argument("--base", metavar="REV",
                       help="compare with this revision (its merge base with --head): what "
                            "the pull request changes")
    group.add_argument("--head", default="HEAD", metavar="REV",
                       help="the revision being reviewed (default: HEAD)")
    group.add_argument("--base-config", metavar="PATH",
                       help="with --base: the config to read from the base revision, as a "
                            "repository path (default: the nearest .modelseal.yaml there)")
    options.add_trusted_list_options(group)
    group.add_argument("--id", dest="report_id", metavar="ID",
                       help="report id, for several reports on one pull request")
    group.add_argument("--template", type=Path, metavar="FILE",
                       help="Jinja2 template to use instead of the built-in one")
    group.add_argument("--exit-zero", action="store_true",
                       help="exit 0 even when a model fails (e.g. to keep a JUnit artifact)")
    colour = group.add_mutually_exclusive_group()
    colour.add_argument("--color", dest="color", action="store_true", default=None,
                        help="colour text output even when not on a terminal")
    colour.add_argument("--no-color", dest="color", action="store_false",
                        help="never colour text output")


def _add_comment_options(sub: argparse.ArgumentParser) -> None:
    group = sub.add_argument_group("comment")
    group.add_argument("--dry-run", action="store_true",
                       help="print the body and the API calls instead of making them")
    group.add_argument("--report", dest="report_file", type=Path, metavar="FILE",
                       help="post this report (JSON from `report --format json`, re-rendered; "
                            "or markdown, posted as is) instead of building one")
    group.add_argument("--pr", type=int, metavar="N",
                       help="pull/merge request number (default: from the CI environment)")
    group.add_argument("--author", metavar="LOGIN",
                       help="who the token comments as, when the forge cannot say (another "
                            "GitHub App's token: APP[bot]); only a comment by this author "
                            "is updated (default: the token's own login; "
                            "github-actions[bot] for the Actions GITHUB_TOKEN)")
    group.add_argument("--relay", type=Path, metavar="DIR",
                       help="GitHub workflow_run job: post the report a fork's pull request "
                            "run left in DIR (checks the PR head commit first)")
    group.add_argument("--relay-dir", type=Path, metavar="DIR",
                       help="where to leave the report when the token is read-only "
                            "(default: $MODELSEAL_RELAY_DIR or modelseal-comment)")


# --- report ------------------------------------------------------------------------------


def run_report(args: argparse.Namespace) -> int:
    from modelseal.forge.env import color_wanted
    from modelseal.report.render import render

    if args.from_json is not None:
        report = load_report_file(args.from_json, args.report_id)
        if report is None:
            raise UsageError(f"{args.from_json} is not a JSON report")
    else:
        report = build_from_args(args)
    color = args.color if args.color is not None else (
        args.output is None and color_wanted(sys.stdout))
    text = render(report, args.format, template=args.template,
                  color=bool(color) and args.format == "text")
    if args.output is None:
        sys.stdout.write(text)
    else:
        from modelseal.fsio import atomic_write_text

        atomic_write_text(args.output, text)
    return _exit_status(report, args)


def _exit_status(report: Report | None, args: argparse.Namespace) -> int:
    from modelseal.report.model import Verdict

    if report is None or args.exit_zero:
        return EXIT_OK
    return EXIT_FAILED if report.verdict is Verdict.FAIL else EXIT_OK


def build_from_args(args: argparse.Namespace) -> Report:
    """Check, verify and compare the models the arguments name.

    With ``--base`` (a pull request), the config and its policy files come from the
    base revision unless ``--config`` names a file: see `modelseal.basepolicy`.
    """
    import tempfile

    from modelseal.report.render import check_report_id

    check_report_id(args.report_id)
    if args.base_config and (args.base is None or args.config):
        raise UsageError("--base-config names the config at the --base revision: use it with "
                         "--base and without --config")
    # policy files read from git live here while the models are verified
    with tempfile.TemporaryDirectory(prefix="modelseal-policy-") as folder:
        return _build_report(args, Path(folder))


def _build_report(args: argparse.Namespace, folder: Path) -> Report:
    from dataclasses import replace

    from modelseal import verifying
    from modelseal.engine import HashRun
    from modelseal.report.build import build_report, report_root
    from modelseal.stores.ociref import is_registry_reference  # lazily: `check` starts fast

    root = report_root(Path.cwd())  # the report's paths are relative to it
    references = [p for p in args.paths if is_registry_reference(str(p))]
    if references and args.signature is not None and len(args.paths) != 1:
        raise UsageError("--signature names one bundle; pass exactly one model path with it")
    named = bool(args.paths)  # no PATH at all: the whole repository (untracked weights too)
    args = argparse.Namespace(**{**vars(args), "paths": [p for p in args.paths
                                                         if p not in references]})
    watched: tuple[str, ...] = ()  # repository paths of the policy files read from --base
    models: list[ModelTarget] = []
    if references and not args.paths:  # registry models only: just the policy's config
        config, watched = _policy_config(args, folder)
    elif args.base is not None and not args.config:
        chosen = selection.base_models(options.model_request(args), args.base, folder,
                                       args.base_config)
        for notice in chosen.notices:
            print(f"modelseal: notice: {printable(notice)}", file=sys.stderr)
        models, config, watched = chosen.models, chosen.config, chosen.watched
    else:
        chosen = selection.work_tree_models(options.model_request(args))
        models, config = chosen.models, chosen.config
    listed = policies.with_listed_files(options.policy_request(args), args.base, folder)
    listed_flags, listed_paths = list(listed.flags), listed.paths
    policy = policies.effective_policy(listed.request.flags, config)
    verify_options = verifying.VerifyOptions(
        # with only a registry model, --signature is that reference's (verify_reference)
        policy=policy, signature=args.signature if models else None,
        ignore_unsigned_files=args.ignore_unsigned_files, offline=args.offline,
        trust_config=args.trust_config, progress=args.progress)
    # listed paths from --base are repository paths already; local ones are made so
    flags = verify_flags(args, root) + (
        listed_flags if args.base is not None else _portable_flags(listed_flags, root))
    report, notices = build_report(
        models, verify_options, HashRun(progress=args.progress), base=args.base, head=args.head,
        report_id=args.report_id, all_paths=args.paths, root=root, verify_flags=flags)
    if references:
        rows, more = cli_registry.report_references(
            args, references, verify_options, flags)
        notices += more
        report = replace(report, models=report.models + rows,
                         verify_command=report.verify_command if args.paths else "")
    for notice in notices:
        print(f"modelseal: notice: {printable(notice)}", file=sys.stderr)
    report = replace(report, untracked_weights=() if named else
                     _untracked(args, models, config, policy.strict))
    if args.base is None:
        return report
    from modelseal.basepolicy import policy_change

    # the key and root files the inputs name are policy too: a change to them is shown
    change = policy_change(Path.cwd(), args.base, args.head, (*watched, *listed_paths),
                           strict=policy.strict)
    return replace(report, policy_change=change)


def _untracked(args: argparse.Namespace, models: list[ModelTarget], config: Config | None,
               strict: bool) -> tuple[UntrackedWeights, ...]:
    """With no PATH the whole repository is reported: weights no model covers too."""
    from modelseal.report.model import (
        MAX_UNTRACKED_DIRS,
        MAX_UNTRACKED_FILES,
    )
    from modelseal.report.model import UntrackedWeights as Entry
    from modelseal.weights import untracked_weight_dirs

    if args.paths or config is None:
        return ()
    found = untracked_weight_dirs(config.root, [model.path for model in models])
    return tuple(Entry(directory, tuple(names[:MAX_UNTRACKED_FILES]), strict)
                 for directory, names in sorted(found.items())[:MAX_UNTRACKED_DIRS])


def _policy_config(args: argparse.Namespace, folder: Path
                   ) -> tuple[Config | None, tuple[str, ...]]:
    """With only registry models: the config whose policy applies (from --base when
    given, as `verify --base` reads it) and the policy files read from --base."""
    return policies.policy_config_and_watched(options.policy_source(args), folder)


# What a reader types for a file flag whose file is not in the repository.
_FILE_PLACEHOLDERS = {"config": "<CONFIG_YAML>", "key": "<PUBLIC_KEY_PEM>",
                      "cert_chain": "<CA_CERT_PEM>", "trust_config": "<TRUST_CONFIG_JSON>",
                      "signature": "<BUNDLE>"}


def _portable_flags(flags: list[str], root: Path) -> list[str]:
    """``--key PATH``/``--cert-chain PATH`` pairs with each path made portable."""
    from modelseal.report.build import portable_path
    from modelseal.report.escape import Placeholder

    words = list(flags)
    for index in range(1, len(words), 2):
        name = words[index - 1].removeprefix("--").replace("-", "_")
        words[index] = portable_path(words[index], root, Placeholder(_FILE_PLACEHOLDERS[name]))
    return words


def verify_flags(args: argparse.Namespace, root: Path) -> list[str]:
    """The `verify` options that reproduce this run's policy, for "verify locally".

    Files are named relative to ``root`` (the repository), or by a placeholder when
    they are outside it: the report is read on other machines.
    """
    from modelseal.report.build import portable_path
    from modelseal.report.escape import Placeholder

    def file_flag(name: str, path: Path | str) -> list[str]:
        placeholder = Placeholder(_FILE_PLACEHOLDERS[name])
        return ["--" + name.replace("_", "-"), portable_path(path, root, placeholder)]

    flags: list[str] = file_flag("config", args.config) if args.config else []
    flags += [word for key in args.policy_keys for word in file_flag("key", key)]
    flags += [word for cert in args.cert_chain for word in file_flag("cert_chain", cert)]
    for name in ("identity", "identity_regex", "issuer", "repository", "workflow", "ref",
                 "gitlab_project", "gitlab_host", "not_before"):
        value = getattr(args, name)
        if value:
            flags += ["--" + name.replace("_", "-"), str(value)]
    for name in ("trust_config", "signature"):
        if getattr(args, name):
            flags += file_flag(name, getattr(args, name))
    flags += [word for path in args.ignore for word in ("--ignore", path)]
    for name in ("strict", "offline", "ignore_unsigned_files"):
        if getattr(args, name):
            flags.append("--" + name.replace("_", "-"))
    return flags


# --- comment -----------------------------------------------------------------------------


def run_comment(args: argparse.Namespace) -> int:
    from modelseal.report.render import check_report_id

    check_report_id(args.report_id)
    if args.relay is not None:
        if not get_forge(args.forge).relays:
            raise UsageError("--relay is for GitHub workflow_run jobs (use it with --github)")
        return _post_relayed(args)
    report, body = _comment_body(args)
    if get_forge(args.forge).relays:
        _post_github(args, body, report)
    else:
        _post_thread(args, body)
    return EXIT_OK  # the models' verdict is `report`'s and `verify`'s exit status


def _comment_body(args: argparse.Namespace) -> tuple[Report | None, str]:
    """The report (None for a markdown file) and the body to post."""
    from modelseal.report.render import render

    fmt = get_forge(args.forge).comment_format
    if args.report_file is None:
        if args.base is None:
            args.base = get_forge(args.forge).api().base_revision(os.environ)
        built = build_from_args(args)
        return built, render(built, fmt, template=args.template)
    loaded = load_report_file(args.report_file, args.report_id)
    if loaded is None:
        return None, _markdown_file_body(args.report_file, args.report_id, fmt)
    return loaded, render(loaded, fmt, template=args.template)


MAX_REPORT_FILE = 64 * 1024 * 1024


def load_report_file(path: Path, report_id: str | None, *,
                     follow_symlinks: bool = True) -> Report | None:
    """A JSON report as a `Report` (``report_id`` replacing its id); None for markdown.

    ``follow_symlinks`` is False for files a fork's run left behind (the relay).
    """
    from dataclasses import replace

    from modelseal.report.model import report_from_json

    text = _read_text(path, follow_symlinks=follow_symlinks)
    if not text.lstrip().startswith("{"):
        return None
    try:
        data = loads_json(text)
    except UnsafeJson as exc:
        raise UsageError(f"{path}: {exc}") from None
    report = report_from_json(data, source=str(path))
    return replace(report, report_id=report_id) if report_id else report


def _read_text(path: Path, *, follow_symlinks: bool = True) -> str:
    try:
        raw = read_regular_file(path, MAX_REPORT_FILE, follow_symlinks=follow_symlinks)
    except UnsafeFile as exc:
        raise UsageError(f"report: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read report {path}: {exc.strerror}") from None
    return raw.decode("utf-8", errors="replace")


def _markdown_file_body(path: Path, report_id: str | None, fmt: str) -> str:
    """A markdown report posted as is, behind our marker, within the forge's limit."""
    from modelseal.report import render

    text = _read_text(path)
    marker = render.marker_lines(report_id)
    lines = text.split("\n")
    while lines and lines[0].startswith("<!-- modelseal-report"):
        lines.pop(0)  # a marker from `report --format markdown`; ours replaces it
    body = marker + "\n".join(lines)
    limit = render.GITHUB_COMMENT_LIMIT if fmt == "markdown" else render.GITLAB_NOTE_LIMIT
    if not limit.fits(body):
        raise UsageError(f"{path} is over {limit.what}: pass the JSON report instead, which "
                         "is shrunk to fit")
    return body


def _dry_run(calls: list[str], body: str) -> None:
    for call in calls:
        print(f"modelseal: dry run: would {printable(call)}", file=sys.stderr)
    sys.stdout.write(body)


def _post_github(args: argparse.Namespace, body: str, report: Report | None) -> None:
    from modelseal.forge import env, github, sticky

    if args.dry_run:
        context = env.github_context({"GITHUB_REPOSITORY": "OWNER/REPO", **os.environ},
                                     args.pr)
        thread = github.PullRequestComments(github.client(context.api_url, "dry-run"),
                                            context.repository, context.number or 0)
        _dry_run(thread.planned_calls(), body)
        return
    context = env.github_context(number=args.pr)
    thread = _github_thread(context)
    try:
        posted = sticky.upsert(thread, body, args.report_id, args.author)
    except github.ReadOnlyToken as exc:
        _leave_for_relay(args, context, body, report, exc)
        return
    _say_posted(posted.action, "comment", posted.comment.url)


def _github_thread(context: GitHubContext) -> PullRequestComments:
    from modelseal.forge import github

    return github.PullRequestComments(github.client(context.api_url, context.require_token()),
                                      context.repository, context.require_number())


def _say_posted(action: str, what: str, url: str | None) -> None:
    print(f"modelseal: {action} the report {what}" + (f": {printable(url)}" if url else ""),
          file=sys.stderr)


def _leave_for_relay(args: argparse.Namespace, context: GitHubContext, body: str,
                     report: Report | None, error: Exception) -> None:
    """A read-only token (fork PR): leave the report for a workflow_run job to post."""
    from modelseal.forge.env import default_relay_dir
    from modelseal.fsio import atomic_write_text

    folder = args.relay_dir or default_relay_dir()
    folder.mkdir(parents=True, exist_ok=True)
    pull = context.event.get("pull_request")
    head = pull.get("head") if isinstance(pull, dict) else None
    meta = {"pr": context.number, "head_sha": head.get("sha") if isinstance(head, dict) else None,
            "repository": context.repository, "id": args.report_id}
    atomic_write_text(folder / RELAY_META, json.dumps(meta, indent=2) + "\n")
    atomic_write_text(folder / "report.md", body)
    if report is not None:
        atomic_write_text(folder / RELAY_REPORT,
                          json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        print("modelseal: warning: a markdown report cannot be relayed (the relay job "
              "re-renders a JSON report); pass --report with `report --format json` output",
              file=sys.stderr)
    print(f"modelseal: notice: cannot comment with this token ({printable(error)}); a pull "
          f"request from a fork gets a read-only token. Not a failure: the report is in "
          f"{printable(folder)}/ "
          "for a workflow_run job to post (upload it as the artifact 'modelseal-comment'; "
          "see the README, 'Pull requests from forks')", file=sys.stderr)


# A fork's pull_request run can change its own workflow, so what it left is its claim:
# the comment says so rather than lend it the bot's voice unmarked.
RELAYED_NOTE = ("\n\n> **Relayed** from this pull request's own workflow run. A pull "
                "request from a fork can change that run, so read this as its claim; the "
                "checks your branch protection requires decide.\n")


def _post_relayed(args: argparse.Namespace) -> int:
    """workflow_run job: post what a fork's run left, after checking it is for that PR."""
    from modelseal.forge import env, sticky
    from modelseal.report.render import render

    meta = _relay_meta(args.relay)
    report_id = args.report_id or meta.get("id")
    report = load_report_file(args.relay / RELAY_REPORT,
                              report_id if isinstance(report_id, str) else None,
                              follow_symlinks=False)
    if report is None:
        raise UsageError(f"{args.relay}/{RELAY_REPORT} is not a JSON report")
    number = meta.get("pr")
    if not isinstance(number, int) or isinstance(number, bool):
        raise UsageError(f"{args.relay}/{RELAY_META} names no pull request number ('pr')")
    context = env.github_context(number=number)
    expected = context.workflow_run_head_sha
    if expected is None and not args.dry_run:
        raise UsageError("--relay runs in a workflow_run job: the event payload has no "
                         "workflow_run.head_sha to check the pull request against")
    if meta.get("head_sha") not in (None, expected) and not args.dry_run:
        raise UsageError(f"the relayed report is for commit {meta.get('head_sha')}, but the "
                         f"workflow run was for {expected}: not posting")
    body = render(report, "markdown", template=args.template) + RELAYED_NOTE
    if args.dry_run:
        from modelseal.forge import github

        thread = github.PullRequestComments(github.client(context.api_url, "dry-run"),
                                            context.repository, number)
        _dry_run([f"GET {thread.api.url(thread.list_path.rsplit('/issues', 1)[0])}"
                  f"/pulls/{number} to check its head is {expected}", *thread.planned_calls()],
                 body)
        return EXIT_OK
    thread = _github_thread(context)
    actual = thread.head_sha()
    if actual != expected:
        raise UsageError(f"the relayed report is for pull request #{number} at {expected}, "
                         f"but its head is {actual}: not posting")
    posted = sticky.upsert(thread, body, report.report_id, args.author)
    _say_posted(posted.action, f"comment on #{number}", posted.comment.url)
    return EXIT_OK


def _relay_meta(folder: Path) -> dict[str, Any]:
    try:
        data = loads_json(_read_text(folder / RELAY_META, follow_symlinks=False))
    except UnsafeJson as exc:
        raise UsageError(f"{folder}/{RELAY_META}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{folder}/{RELAY_META} must be a JSON object")
    return data


def _post_thread(args: argparse.Namespace, body: str) -> None:
    from modelseal.forge import sticky

    forge = get_forge(args.forge)
    thread = forge.api().comment_thread(args.pr, dry_run=args.dry_run)
    if args.dry_run:
        _dry_run(thread.planned_calls(), body)
        return
    posted = sticky.upsert(thread, body, args.report_id, args.author)
    _say_posted(posted.action, forge.comment_noun, posted.comment.url)

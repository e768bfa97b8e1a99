"""The `report` and `comment` commands: argparse -> `app.report`/`app.comment` -> output.

They take the same model and policy options as `verify` (cli/options.py); the
`--format` choices come from the formats registry (report/formats.py). Jinja2, the
verifier and git are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal import console
from modelseal.cli import options
from modelseal.cli import registry as cli_registry
from modelseal.errors import EXIT_FAILED, EXIT_OK, UsageError
from modelseal.forge.forges import add_forge_options, get_forge
from modelseal.report import formats

if TYPE_CHECKING:
    from modelseal.app.comment import CommentOutcome
    from modelseal.app.report import ReportRequest
    from modelseal.report.model import ModelReport, Report
    from modelseal.verifying import VerifyOptions

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

def configure(name: str, sub: argparse.ArgumentParser) -> None:
    {"report": _configure_report, "comment": _configure_comment}[name](sub)


def _configure_report(report: argparse.ArgumentParser) -> None:
    options.runs(report, run_report, _REPORT_EXAMPLES)
    _add_report_inputs(report)
    report.add_argument("--format", choices=formats.names(), default=formats.DEFAULT,
                        help=formats.help_text())
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
    from modelseal.app.report import load_report_file
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


def report_request(args: argparse.Namespace) -> ReportRequest:
    """The report options as typed data."""
    from modelseal.app.report import ReportRequest
    from modelseal.stores.ociref import is_registry_reference  # lazily: `check` starts fast

    references = tuple(str(p) for p in args.paths if is_registry_reference(str(p)))
    local = argparse.Namespace(**{**vars(args), "paths": [p for p in args.paths
                                                          if str(p) not in references]})
    return ReportRequest(
        models=options.model_request(local), policy=options.policy_request(args),
        references=references, named=bool(args.paths), base=args.base, head=args.head,
        base_config=args.base_config, report_id=args.report_id,
        trust_config=args.trust_config, offline=args.offline,
        ignore_unsigned_files=args.ignore_unsigned_files, progress=args.progress)


def build_from_args(args: argparse.Namespace) -> Report:
    """Check, verify and compare the models the arguments name (see `app.report`)."""
    from modelseal.app import report as app_report

    request = report_request(args)

    def registry_rows(verify_options: VerifyOptions, flags: list[str]
                      ) -> tuple[tuple[ModelReport, ...], list[str]]:
        return cli_registry.report_references(args, list(request.references),
                                              verify_options, flags)

    built = app_report.build(request, registry_rows)
    for notice in built.notices:
        console.notice(notice)
    return built.report


# --- comment -----------------------------------------------------------------------------


def run_comment(args: argparse.Namespace) -> int:
    from modelseal.app import comment
    from modelseal.report.render import check_report_id

    check_report_id(args.report_id)
    poster = comment.Poster(args.report_id, args.author, args.pr, args.dry_run)
    if args.relay is not None:
        if not get_forge(args.forge).relays:
            raise UsageError("--relay is for GitHub workflow_run jobs (use it with --github)")
        _say_outcome(comment.post_relayed(args.relay, poster, args.template))
        return EXIT_OK
    report, body = _comment_body(args)
    if get_forge(args.forge).relays:
        _say_outcome(comment.post_github(body, report, poster, args.relay_dir))
    else:
        _say_outcome(comment.post_thread(args.forge, body, poster))
    return EXIT_OK  # the models' verdict is `report`'s and `verify`'s exit status


def _comment_body(args: argparse.Namespace) -> tuple[Report | None, str]:
    """The report (None for a markdown file) and the body to post, rendered once."""
    from modelseal.app.report import comment_body, load_report_file
    forge = get_forge(args.forge)
    fmt = forge.comment_format
    if args.report_file is None:
        if args.base is None:
            args.base = forge.api().base_revision(os.environ)
        report: Report | None = build_from_args(args)
    else:
        report = load_report_file(args.report_file, args.report_id)
    markdown = args.report_file if report is None else None
    return report, comment_body(report, markdown, fmt, args.report_id, args.template)


def _say_outcome(outcome: CommentOutcome) -> None:
    """What `comment` did, on stderr; a dry run's body on stdout."""
    for line in outcome.messages():
        console.say(line, err=True)
    if outcome.body:
        sys.stdout.write(outcome.body)

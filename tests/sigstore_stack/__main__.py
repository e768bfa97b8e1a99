"""Command line: ``python -m tests.sigstore_stack {serve,token,env}`` (run from the repo root).

serve  --state DIR [--port 0]      run the stack until SIGTERM/SIGINT; writes
                                   DIR/trust_config.json, DIR/trust_config_untrusted_ca.json
                                   and (last, atomically) DIR/endpoints.json
token  --state DIR (--github OWNER/REPO [--workflow PATH] | --gitlab GROUP/PROJECT
        | --email ADDR) [--ref REF] [--audience AUD] [--expires-in SECS] [--sha SHA]
        [--event NAME] [--claim KEY=VALUE ...] [--issuer URL]
                                   print a signed identity token (no server needed;
                                   the issuer URL is read from DIR/endpoints.json)
env    same options as token       print KEY=VALUE lines of a GitHub Actions (or
                                   GitLab CI) environment whose ambient token
                                   detection yields such a token from the stack
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from . import oidc
from .ambient import ambient_env
from .profiles import DEFAULT_REF, DEFAULT_WORKFLOW, Kind, TokenSpec
from .server import Stack
from .state import load_or_create


def _claim(text: str) -> tuple[str, Any]:
    """Parse ``KEY=VALUE``; VALUE is JSON if it parses, else a plain string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def _add_identity_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state", type=Path, required=True, help="stack state directory")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--github", metavar="OWNER/REPO", help="GitHub Actions identity")
    who.add_argument("--gitlab", metavar="GROUP/PROJECT", help="GitLab CI identity")
    who.add_argument("--email", metavar="ADDRESS", help="plain email identity")
    parser.add_argument("--workflow", default=DEFAULT_WORKFLOW, help="GitHub workflow path")
    parser.add_argument("--ref", default=DEFAULT_REF, help="git ref, e.g. refs/heads/main")
    parser.add_argument("--audience", default="sigstore", help="aud claim (default sigstore)")
    parser.add_argument(
        "--expires-in",
        type=int,
        default=600,
        help="seconds until exp; negative gives an expired token",
    )
    parser.add_argument("--sha", help="commit sha claim")
    parser.add_argument("--event", help="GitHub event_name / GitLab pipeline_source")
    parser.add_argument("--run-id", help="GitHub run_id / GitLab pipeline_id")
    parser.add_argument("--runner-environment", help="runner_environment claim")
    parser.add_argument("--visibility", help="repository/project visibility claim")
    parser.add_argument(
        "--claim",
        type=_claim,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set any claim (JSON value or string)",
    )
    parser.add_argument("--issuer", help="iss claim (default: issuer in DIR/endpoints.json)")


def _spec(args: argparse.Namespace) -> TokenSpec:
    """Build the token spec described by the identity options."""
    kind: Kind = "github" if args.github else "gitlab" if args.gitlab else "email"
    target = args.github or args.gitlab or args.email
    overrides: dict[str, Any] = {}
    event_claim = "event_name" if kind == "github" else "pipeline_source"
    run_claim = "run_id" if kind == "github" else "pipeline_id"
    vis_claim = "repository_visibility" if kind == "github" else "project_visibility"
    for value, name in (
        (args.sha, "sha"),
        (args.event, event_claim),
        (args.run_id, run_claim),
        (args.runner_environment, "runner_environment"),
        (args.visibility, vis_claim),
    ):
        if value is not None:
            overrides[name] = value
    overrides.update(dict(args.claim))
    return TokenSpec(
        kind=kind,
        target=target,
        ref=args.ref,
        workflow=args.workflow,
        audience=args.audience,
        expires_in=args.expires_in,
        claims=overrides,
    )


def _issuer(args: argparse.Namespace) -> str:
    if args.issuer:
        return str(args.issuer)
    endpoints = args.state / "endpoints.json"
    if not endpoints.exists():
        sys.exit(f"{endpoints} not found: start `serve --state {args.state}` or pass --issuer")
    return str(json.loads(endpoints.read_text())["issuer"])


def cmd_token(args: argparse.Namespace) -> int:
    """Print a signed identity token."""
    issuer = _issuer(args)
    keys = load_or_create(args.state)
    print(oidc.mint(keys.oidc, _spec(args).build(issuer)))
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    """Print an ambient CI environment as KEY=VALUE lines."""
    endpoints = json.loads((args.state / "endpoints.json").read_text())
    spec = _spec(args)
    token = None
    if spec.kind != "github":
        token = oidc.mint(load_or_create(args.state).oidc, spec.build(_issuer(args)))
    for key, value in ambient_env(spec, endpoints["token"], token).items():
        print(f"{key}={value}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the stack until SIGTERM or SIGINT."""
    stop = threading.Event()
    stack = Stack(args.state, args.port, verbose=args.verbose)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stack.start()
    print(json.dumps(stack.endpoints), flush=True)
    while not stop.wait(0.5):
        pass
    stack.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.sigstore_stack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the local Sigstore stack")
    serve.add_argument("--state", type=Path, required=True, help="stack state directory")
    serve.add_argument("--port", type=int, default=0, help="main port (0 = any free port)")
    serve.add_argument("--verbose", action="store_true", help="log requests to stderr")
    serve.set_defaults(func=cmd_serve)
    for name, func, text in (
        ("token", cmd_token, "print an identity token"),
        ("env", cmd_env, "print an ambient CI environment"),
    ):
        p = sub.add_parser(name, help=text)
        _add_identity_options(p)
        p.set_defaults(func=func)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

"""Publishing signatures: one commit pushed back to the branch, or release assets.

The commit uses the git CLI with the job token sent as an HTTP header for the
GitHub server only (the way actions/checkout does it), passed through git's
``GIT_CONFIG_*`` environment so it never appears on a command line. Release assets
go to the upload URL from the release event with the REST API.
"""

from __future__ import annotations

import base64
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

from modelseal import __version__
from modelseal.ci.runner import Context
from modelseal.errors import CheckFailed, UsageError
from modelseal.untrusted import loads_json

BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
SKIP_CI = "[skip ci]"
MAX_ANSWER_BYTES = 4 * 1024 * 1024
TIMEOUT = 60.0


# --- commit ------------------------------------------------------------------------


def commit_message(models: Sequence[str]) -> str:
    """``Sign models: a, b [skip ci]``: the marker keeps the push from re-running CI."""
    names = ", ".join(models[:5]) + (f" and {len(models) - 5} more" if len(models) > 5 else "")
    return f"Sign {'model' if len(models) == 1 else 'models'}: {names} {SKIP_CI}"


def _git(args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(env) if env is not None else None, check=False)
    if check and proc.returncode != 0:
        raise CheckFailed(f"git {args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def auth_env(ctx: Context, token: str, cwd: Path) -> dict[str, str]:
    """The environment for ``git push``: the token as an extra header for the server.

    Nothing is added when the checkout kept its own credentials (``persist-credentials``),
    as two Authorization headers would be refused.
    """
    env = dict(os.environ)
    key = f"http.{ctx.server_url}/.extraheader"
    if not token or _git(["config", "--get-all", key], cwd, check=False).stdout.strip():
        return env
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    env.update({"GIT_CONFIG_COUNT": str(count + 1), f"GIT_CONFIG_KEY_{count}": key,
                f"GIT_CONFIG_VALUE_{count}": f"AUTHORIZATION: basic {basic}",
                "GIT_TERMINAL_PROMPT": "0"})
    return env


@dataclass(frozen=True)
class Pushed:
    commit: str
    branch: str


def require_branch(ctx: Context) -> str:
    """The branch to push to; a run for a tag or a pull request has none."""
    if ctx.branch is None:
        raise UsageError(f"input commit pushes to the branch the workflow ran on, but this "
                         f"{ctx.event_name or 'unknown'} run is for {ctx.ref or 'no ref'}; "
                         "use commit: true on push to a branch")
    return ctx.branch


def commit_signatures(signatures: Sequence[str], models: Sequence[str], ctx: Context,
                      token: str) -> Pushed | None:
    """Commit ``signatures`` (paths in the workspace) and push; None if nothing changed."""
    branch = require_branch(ctx)
    cwd = ctx.workspace
    _git(["add", "--", *signatures], cwd)
    if _git(["diff", "--cached", "--quiet", "--", *signatures], cwd, check=False).returncode == 0:
        return None
    identity = ["-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}"]
    _git([*identity, "commit", "--quiet", "--no-verify", "-m", commit_message(models), "--",
          *signatures], cwd)
    sha = _git(["rev-parse", "HEAD"], cwd).stdout.strip()
    push = _git(["push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"], cwd,
                auth_env(ctx, token, cwd), check=False)
    if push.returncode != 0:
        raise CheckFailed(f"could not push the signature commit to {branch}: "
                          f"{push.stderr.strip()} (the job needs `permissions: contents: "
                          "write`; if the branch moved meanwhile, re-run the job)")
    return Pushed(sha, branch)


# --- release assets ----------------------------------------------------------------


def asset_name(signature: str) -> str:
    """A flat, unique asset name: ``models/bert/model.sig`` -> ``models-bert.sig``."""
    path = PurePosixPath(signature.replace("\\", "/"))
    if path.name == "model.sig":
        parent = "-".join(part for part in path.parent.parts if part not in (".", ""))
        return f"{parent or 'model'}.sig"
    return "-".join(path.parts)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Message, newurl: str) -> None:
        return None  # a redirect could carry the token elsewhere


@dataclass(frozen=True)
class Answer:
    status: int
    data: Any


class ReleaseClient:
    """The few REST calls release assets need, with the token for GitHub's hosts only."""

    def __init__(self, ctx: Context, token: str) -> None:
        if not token:
            raise UsageError("input release needs the job token (github-token) with "
                             "`permissions: contents: write`")
        self._token = token
        self._ctx = ctx
        self._opener = urllib.request.build_opener(_NoRedirect())

    def call(self, method: str, url: str, body: bytes | None = None,
             content_type: str = "application/json") -> Answer:
        if urlsplit(url).scheme not in ("https", "http"):
            raise UsageError(f"refusing a non-HTTP URL from the event payload: {url}")
        headers = {"Authorization": f"Bearer {self._token}",
                   "Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": "2022-11-28",
                   "User-Agent": f"modelseal/{__version__}"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=TIMEOUT) as reply:
                return Answer(reply.status, _json(reply.read(MAX_ANSWER_BYTES)))
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, _json(error.read(MAX_ANSWER_BYTES)))
        except (urllib.error.URLError, OSError) as error:
            raise CheckFailed(f"{method} {url} failed: {getattr(error, 'reason', error)}")\
                from None


def _json(raw: bytes) -> Any:
    try:
        return loads_json(raw) if raw.strip() else None
    except ValueError:
        return {"message": raw[:300].decode("utf-8", "replace")}


def _failure(method: str, url: str, answer: Answer) -> CheckFailed:
    message = answer.data.get("message") if isinstance(answer.data, dict) else None
    hint = " (the job needs `permissions: contents: write`)" if answer.status in (403, 404) \
        else ""
    return CheckFailed(f"{method} {url}: HTTP {answer.status}"
                       f"{f': {message}' if message else ''}{hint}")


def _release_ids(ctx: Context) -> tuple[int, str]:
    release = ctx.release
    if release is None:
        raise UsageError("input release attaches signatures on a release event only")
    release_id, upload = release.get("id"), release.get("upload_url")
    if not isinstance(release_id, int) or not isinstance(upload, str) or not upload:
        raise UsageError("the release event payload has no release id or upload_url")
    return release_id, upload.split("{", 1)[0]


def attach_to_release(signatures: Sequence[str], ctx: Context, token: str) -> list[str]:
    """Upload each signature as a release asset, replacing one of the same name."""
    release_id, upload_url = _release_ids(ctx)
    client = ReleaseClient(ctx, token)
    owner, _, name = ctx.repository.partition("/")
    repo = f"{ctx.api_url}/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
    listing = f"{repo}/releases/{release_id}/assets?per_page=100"
    answer = client.call("GET", listing)
    if answer.status != 200 or not isinstance(answer.data, list):
        raise _failure("GET", listing, answer)
    existing = {item.get("name"): item.get("id") for item in answer.data
                if isinstance(item, dict)}
    urls = []
    for signature in signatures:
        asset = asset_name(signature)
        if isinstance(existing.get(asset), int):
            url = f"{repo}/releases/assets/{existing[asset]}"
            gone = client.call("DELETE", url)
            if gone.status not in (204, 404):
                raise _failure("DELETE", url, gone)
        url = f"{upload_url}?name={quote(asset, safe='')}"
        data = (ctx.workspace / signature).read_bytes()
        done = client.call("POST", url, data, "application/json")
        if done.status != 201:
            raise _failure("POST", url, done)
        link = done.data.get("browser_download_url") if isinstance(done.data, dict) else None
        urls.append(link if isinstance(link, str) else asset)
    return urls

"""Publishing signatures: one commit pushed back to the branch, or release assets.

The commit goes through `modelseal.gitrepo` (git's own commands), with the job token
sent as an HTTP header for the GitHub server only (the way actions/checkout does it),
passed through git's ``GIT_CONFIG_*`` environment so it never appears on a command
line. Release assets
go to the upload URL from the release event with the REST API.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote, urlsplit

from modelseal.ci.runner import Context
from modelseal.errors import CheckFailed, UsageError
from modelseal.forge import github
from modelseal.forge.api import ForgeError, Response
from modelseal.gitrepo import GitFailed, GitRepo, open_repo

BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
SKIP_CI = "[skip ci]"
TIMEOUT = 60.0


# --- commit ------------------------------------------------------------------------


def commit_message(models: Sequence[str]) -> str:
    """``Sign models: a, b [skip ci]``: the marker keeps the push from re-running CI."""
    names = ", ".join(models[:5]) + (f" and {len(models) - 5} more" if len(models) > 5 else "")
    return f"Sign {'model' if len(models) == 1 else 'models'}: {names} {SKIP_CI}"


def auth_env(ctx: Context, token: str, repo: GitRepo) -> dict[str, str]:
    """The environment for ``git push``: the token as an extra header for the server.

    Nothing is added when the checkout kept its own credentials (``persist-credentials``),
    as two Authorization headers would be refused.
    """
    env = dict(os.environ)
    key = f"http.{ctx.server_url}/.extraheader"
    if not token or repo.run("config", "--get-all", key).stdout.strip():
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
    with open_repo(ctx.workspace) as repo:
        try:
            sha = _commit(repo, signatures, models)
        except GitFailed as error:
            raise CheckFailed(str(error)) from None
        if sha is None:
            return None
        push = repo.run("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}",
                        env=auth_env(ctx, token, repo))
    if push.status != 0:
        raise CheckFailed(f"could not push the signature commit to {branch}: "
                          f"{push.stderr.strip()} (the job needs `permissions: contents: "
                          "write`; if the branch moved meanwhile, re-run the job)")
    return Pushed(sha, branch)


def _commit(repo: GitRepo, signatures: Sequence[str], models: Sequence[str]) -> str | None:
    """Commit the signatures as the Actions bot; None when they did not change."""
    repo.checked("add", "--", *signatures)
    if repo.run("diff", "--cached", "--quiet", "--", *signatures).status == 0:
        return None
    identity = ["-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}"]
    repo.checked(*identity, "commit", "--quiet", "--no-verify", "-m", commit_message(models),
                 "--", *signatures)
    return repo.checked("rev-parse", "HEAD").strip()


# --- release assets ----------------------------------------------------------------


def asset_name(signature: str) -> str:
    """A flat, unique asset name: ``models/bert/model.sig`` -> ``models-bert.sig``."""
    path = PurePosixPath(signature.replace("\\", "/"))
    if path.name == "model.sig":
        parent = "-".join(part for part in path.parent.parts if part not in (".", ""))
        return f"{parent or 'model'}.sig"
    return "-".join(path.parts)


class ReleaseClient:
    """The few REST calls release assets need: the API and the uploads host, each its
    own pinned client (`modelseal.net`), so the token goes to those two origins only."""

    def __init__(self, ctx: Context, token: str, upload_url: str) -> None:
        if not token:
            raise UsageError("input release needs the job token (github-token) with "
                             "`permissions: contents: write`")
        uploads = urlsplit(upload_url)
        if uploads.scheme not in ("https", "http") or not uploads.netloc:
            raise UsageError(f"refusing a non-HTTP URL from the event payload: {upload_url}")
        if uploads.scheme == "http" and urlsplit(ctx.api_url).scheme == "https":
            raise UsageError(f"refusing to send the token over plain HTTP to {upload_url} "
                             f"(the API at {ctx.api_url} uses https)")
        self.api = github.client(ctx.api_url, token, timeout=TIMEOUT)
        self.uploads = github.client(f"{uploads.scheme}://{uploads.netloc}", token,
                                     timeout=TIMEOUT)

    def call(self, method: str, url: str, body: bytes | None = None) -> Response:
        client = self.uploads if self.uploads.base_url == _origin(url) else self.api
        try:
            return client.request(method, url, raw=body)
        except ForgeError as error:
            raise CheckFailed(str(error)) from None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _failure(method: str, url: str, answer: Response) -> CheckFailed:
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
    client = ReleaseClient(ctx, token, upload_url)
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
        done = client.call("POST", url, data)
        if done.status != 201:
            raise _failure("POST", url, done)
        link = done.data.get("browser_download_url") if isinstance(done.data, dict) else None
        urls.append(link if isinstance(link, str) else asset)
    return urls

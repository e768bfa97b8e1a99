"""Pytest fixture ``sigstore_stack``: one local Sigstore stack per test session.

Use it from ``tests/conftest.py`` with::

    from tests.sigstore_stack.fixture import sigstore_stack  # noqa: F401

(The fixture is registered under the explicit name ``sigstore_stack``, so it
may also be imported under an alias, which keeps ruff's F811 quiet in modules
whose tests take a ``sigstore_stack`` argument.)

The stack runs as a ``python -m tests.sigstore_stack serve`` subprocess; tokens
are minted in-process from the same state directory's keys.  Importing the
fixture into several modules is harmless: all share one running stack.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import oidc
from .ambient import ambient_env
from .claims import github_identity, gitlab_identity
from .client import IssuedCertificate, request_certificate
from .profiles import DEFAULT_REF, DEFAULT_WORKFLOW, Kind, TokenSpec
from .state import StackKeys, load_or_create

REPO_ROOT = Path(__file__).resolve().parents[2]


class SigstoreStack:
    """Handle on a running stack: URLs, trust configs and token helpers.

    Token helpers accept ``audience=`` (default ``"sigstore"``), ``expires_in=``
    (seconds; negative means already expired) and any claim overrides as
    keywords (``sha=...``, ``event_name=...``; ``None`` removes a claim).
    """

    def __init__(self, state_dir: Path, process: subprocess.Popen[bytes] | None = None) -> None:
        self.state_dir = state_dir
        self.endpoints: dict[str, str] = json.loads((state_dir / "endpoints.json").read_text())
        self.keys: StackKeys = load_or_create(state_dir)
        self._process = process

    @property
    def trust_config(self) -> Path:
        """ClientTrustConfig for signing and verifying against this stack."""
        return self.state_dir / "trust_config.json"

    @property
    def untrusted_trust_config(self) -> Path:
        """Same trusted root, but signing gets certificates from a CA *not* in it."""
        return self.state_dir / "trust_config_untrusted_ca.json"

    @property
    def issuer(self) -> str:
        """The OIDC issuer URL (``iss`` of stack tokens, Fulcio extension 1.1/1.8)."""
        return self.endpoints["issuer"]

    def token(self, spec: TokenSpec) -> str:
        """Mint a token for ``spec`` signed by the stack's OIDC key."""
        return oidc.mint(self.keys.oidc, spec.build(self.issuer))

    def github_token(
        self, repo: str, workflow: str = DEFAULT_WORKFLOW, ref: str = DEFAULT_REF, **overrides: Any
    ) -> str:
        """A GitHub Actions token for ``repo``'s ``workflow`` at ``ref``."""
        return self.token(_spec("github", repo, ref, workflow, overrides))

    def gitlab_token(self, project: str, ref: str = DEFAULT_REF, **overrides: Any) -> str:
        """A GitLab CI token for ``project`` (GROUP/PROJECT) at ``ref``."""
        return self.token(_spec("gitlab", project, ref, DEFAULT_WORKFLOW, overrides))

    def email_token(self, email: str, **overrides: Any) -> str:
        """A token with a verified ``email`` claim (email SAN certificates)."""
        return self.token(_spec("email", email, DEFAULT_REF, DEFAULT_WORKFLOW, overrides))

    def github_actions_env(
        self, repo: str, workflow: str = DEFAULT_WORKFLOW, ref: str = DEFAULT_REF, **overrides: Any
    ) -> dict[str, str]:
        """Env vars under which ``sigstore.oidc.detect_credential()`` gets such a token."""
        spec = _spec("github", repo, ref, workflow, overrides)
        return ambient_env(spec, self.endpoints["token"])

    def gitlab_ci_env(
        self, project: str, ref: str = DEFAULT_REF, **overrides: Any
    ) -> dict[str, str]:
        """Env vars of a GitLab CI job holding a stack token in ``SIGSTORE_ID_TOKEN``."""
        spec = _spec("gitlab", project, ref, DEFAULT_WORKFLOW, overrides)
        return ambient_env(spec, self.endpoints["token"], self.token(spec))

    @staticmethod
    def github_identity(repo: str, workflow: str = DEFAULT_WORKFLOW, ref: str = DEFAULT_REF) -> str:
        """Certificate identity (SAN) for a GitHub workflow."""
        return github_identity(repo, workflow, ref)

    @staticmethod
    def gitlab_identity(project: str, ref: str = DEFAULT_REF) -> str:
        """Certificate identity (SAN) for a GitLab project's ``.gitlab-ci.yml``."""
        return gitlab_identity(project, ref)

    def issue_certificate(self, token: str, *, untrusted_ca: bool = False) -> IssuedCertificate:
        """Get a bare Fulcio certificate (and its key) for ``token``.

        With ``untrusted_ca`` it comes from a CA that is *not* in the trust config.
        """
        url = self.endpoints["fulcio_untrusted" if untrusted_ca else "fulcio"]
        return request_certificate(url, token)

    def close(self) -> None:
        """Stop the server subprocess, if this handle started one."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _spec(kind: Kind, target: str, ref: str, workflow: str, overrides: dict[str, Any]) -> TokenSpec:
    """Split helper keywords into spec fields and claim overrides."""
    claims = dict(overrides)
    audience = claims.pop("audience", "sigstore")
    expires_in = int(claims.pop("expires_in", 600))
    return TokenSpec(
        kind=kind,
        target=target,
        ref=ref,
        workflow=workflow,
        audience=audience,
        expires_in=expires_in,
        claims=claims,
    )


def start_stack(state_dir: Path, timeout: float = 30.0) -> SigstoreStack:
    """Start ``serve`` in a subprocess and wait until it has published endpoints.json."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "endpoints.json").unlink(missing_ok=True)
    log = (state_dir / "serve.log").open("wb")
    cmd = [sys.executable, "-m", "tests.sigstore_stack", "serve", "--state", str(state_dir)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
    }
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + timeout
    while not (state_dir / "endpoints.json").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            output = (state_dir / "serve.log").read_text(errors="replace")
            raise RuntimeError(f"sigstore stack did not start (exit {proc.poll()}):\n{output}")
        time.sleep(0.05)
    return SigstoreStack(state_dir, proc)


def _bypass_proxy_for_loopback() -> None:
    """If an HTTP proxy is configured, make clients reach 127.0.0.1 directly."""
    if not any(os.environ.get(v) for v in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY")):
        return
    for var in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(var, "")
        os.environ[var] = ",".join(p for p in (current, "127.0.0.1", "localhost") if p)


_shared: dict[str, Any] = {"stack": None, "users": 0}


@pytest.fixture(scope="session", name="sigstore_stack")
def sigstore_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigstoreStack]:
    """The session's local Sigstore stack (started on first use, stopped at the end)."""
    if _shared["stack"] is None:
        _bypass_proxy_for_loopback()
        stack = start_stack(tmp_path_factory.mktemp("sigstore-stack"))
        atexit.register(stack.close)
        _shared["stack"] = stack
    _shared["users"] += 1
    try:
        yield _shared["stack"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            _shared["stack"].close()
            _shared["stack"] = None

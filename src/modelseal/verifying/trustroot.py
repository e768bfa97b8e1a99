"""The Sigstore trusted root that keyless signatures are verified against.

The root comes from a trust config the user names, else from Sigstore's TUF
repository (refreshed at most once per process), else from the copy embedded in the
`sigstore` package, with a notice saying so. `sigstore` is imported only when a
keyless signature is actually checked.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal.errors import UsageError
from modelseal.verifying.results import SignatureFailure

if TYPE_CHECKING:
    from sigstore.models import TrustedRoot

# A trusted root refreshed over TUF, kept for the life of the process. Only a success
# is kept: after a failed refresh the next verification tries again.
_REFRESHED_ROOT: TrustedRoot | None = None


class SigstoreTrust:
    """Loads the Sigstore trusted root once per run, noting any fallback it took."""

    def __init__(self, *, offline: bool = False, trust_config: Path | None = None) -> None:
        self.offline = offline
        self.trust_config = trust_config
        self.notices: list[str] = []
        self._root: TrustedRoot | None = None

    def trusted_root(self) -> TrustedRoot:
        """The root, loaded on first use."""
        if self._root is None:
            self._root = self._load()
        return self._root

    def _load(self) -> TrustedRoot:
        if self.trust_config is not None:
            return _trust_config_root(self.trust_config)
        if not self.offline:
            refreshed = self._refreshed()
            if refreshed is not None:
                return refreshed
        return _embedded_root()

    def _refreshed(self) -> TrustedRoot | None:
        """The root fetched over TUF (once per process), or None with a notice."""
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import ClientTrustConfig

        global _REFRESHED_ROOT
        if _REFRESHED_ROOT is not None:
            return _REFRESHED_ROOT
        try:
            _REFRESHED_ROOT = ClientTrustConfig.production().trusted_root
            return _REFRESHED_ROOT
        except (SigstoreError, OSError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            self.notices.append(f"could not refresh the Sigstore trusted root over TUF "
                                f"({reason}); using the root embedded in the sigstore "
                                "package")
            return None


def _embedded_root() -> TrustedRoot:
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import ClientTrustConfig

    # sigstore warns on every offline load; the notice of `_refreshed` says what matters
    logging.getLogger("sigstore._internal.tuf").setLevel(logging.ERROR)
    try:
        return ClientTrustConfig.production(offline=True).trusted_root
    except (SigstoreError, OSError, ValueError) as exc:
        raise SignatureFailure(f"cannot load the embedded Sigstore trusted root: "
                               f"{exc}") from None


def _trust_config_root(path: Path) -> TrustedRoot:
    from sigstore.models import ClientTrustConfig, TrustedRoot

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read trust config {path}: {exc.strerror}") from None
    try:
        media_type = str(json.loads(text).get("mediaType", ""))
        if "trustedroot" in media_type.lower():
            return TrustedRoot.from_file(str(path))
        return ClientTrustConfig.from_json(text).trusted_root
    except (ValueError, AttributeError) as exc:
        raise UsageError(f"{path} is not a Sigstore trust config or trusted root: "
                         f"{str(exc).splitlines()[0] if str(exc) else exc}") from None

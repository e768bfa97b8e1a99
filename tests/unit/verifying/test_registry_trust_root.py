"""The Sigstore trusted root: refreshed at most once per process, a failure never kept.

LocalAI's verifier cached a failed trusted-root fetch for the life of its process;
here a failed refresh falls back to the embedded root for that run only, and the
next verification tries again, while a successful refresh is reused.
"""

from __future__ import annotations

from typing import Any

import pytest

from modelseal import verifying
from modelseal.verifying import trustroot


def test_a_failed_refresh_is_retried_and_a_good_one_is_reused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import ClientTrustConfig

    embedded = ClientTrustConfig.production(offline=True)
    calls: list[bool] = []

    def production(offline: bool = False) -> Any:
        calls.append(offline)
        if offline:
            return embedded
        if calls.count(False) == 1:
            raise SigstoreError("TUF repository unreachable")
        return embedded

    monkeypatch.setattr(ClientTrustConfig, "production", staticmethod(production))
    monkeypatch.setattr(trustroot, "_REFRESHED_ROOT", None)
    first = verifying.SigstoreTrust()
    first.trusted_root()
    assert "could not refresh" in first.notices[0]
    second = verifying.SigstoreTrust()
    second.trusted_root()  # the failure was not remembered: it asks again
    assert second.notices == []
    third = verifying.SigstoreTrust()
    third.trusted_root()
    assert calls.count(False) == 2  # the good refresh was reused, not fetched again
    assert verifying.SigstoreTrust(offline=True).trusted_root() is not None
    assert calls.count(False) == 2

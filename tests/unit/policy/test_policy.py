"""The signer policy: identities, CI shorthand against Fulcio extensions, time, flags vs config."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.config import PolicyConfig, SignerRule, parse_config
from modelseal.errors import UsageError
from modelseal.fulcio import SignerFacts, _der_utf8, signer_facts
from modelseal.policy import (
    GITHUB_ISSUER,
    Policy,
    PolicyFlags,
    PolicyViolation,
    build_policy,
    check_not_before,
    check_signer,
    parse_time,
)
from tests.signing_support import FULCIO, der_utf8, make_certificate, run_cli

WORKFLOW_URI = "https://github.com/acme/models/.github/workflows/release.yml@refs/heads/main"


def fulcio_certificate(identity: x509.GeneralName, extensions: dict[str, str]
                       ) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    return make_certificate("fulcio", key.public_key(), issuer_key=key, ca=False, san=identity,
                            fulcio=extensions)


def github_facts(**overrides: str) -> SignerFacts:
    extensions = {
        FULCIO + "8": GITHUB_ISSUER,
        FULCIO + "9": WORKFLOW_URI,
        FULCIO + "12": "https://github.com/acme/models",
        FULCIO + "13": "0123456789abcdef0123456789abcdef01234567",
        FULCIO + "14": "refs/heads/main",
        FULCIO + "18": WORKFLOW_URI,
        FULCIO + "21": "https://github.com/acme/models/actions/runs/42/attempts/1",
    }
    extensions.update({FULCIO + key: value for key, value in overrides.items()})
    cert = fulcio_certificate(x509.UniformResourceIdentifier(extensions[FULCIO + "9"]),
                              extensions)
    return signer_facts(cert)


def gitlab_facts(project: str = "group/project", ref: str = "refs/heads/main",
                 host: str = "gitlab.com", config: str = ".gitlab-ci.yml") -> SignerFacts:
    identity = f"https://{host}/{project}//{config}@{ref}"
    cert = fulcio_certificate(x509.UniformResourceIdentifier(identity), {
        FULCIO + "8": f"https://{host}",
        FULCIO + "12": f"https://{host}/{project}",
        FULCIO + "14": ref,
    })
    return signer_facts(cert)


def violation(rule: SignerRule, facts: SignerFacts) -> str:
    with pytest.raises(PolicyViolation) as caught:
        check_signer(Policy(signers=(rule,)), facts)
    return str(caught.value)


def allowed(rule: SignerRule, facts: SignerFacts) -> bool:
    try:
        check_signer(Policy(signers=(rule,)), facts)
    except PolicyViolation:
        return False
    return True


def test_facts_from_a_github_certificate() -> None:
    facts = github_facts()
    assert facts.identity == WORKFLOW_URI
    assert facts.issuer == GITHUB_ISSUER
    assert facts.repository == "acme/models"
    assert facts.workflow == ".github/workflows/release.yml"
    assert facts.source_repository_ref == "refs/heads/main"
    assert facts.source_repository_digest == "0123456789abcdef0123456789abcdef01234567"
    assert facts.run_invocation_uri.endswith("/runs/42/attempts/1")  # type: ignore[union-attr]


def test_facts_from_legacy_extensions_and_email() -> None:
    cert = fulcio_certificate(x509.RFC822Name("alice@example.com"), {
        FULCIO + "1": "https://accounts.example.com",
        FULCIO + "5": "acme/old",
        FULCIO + "6": "refs/tags/v1",
    })
    facts = signer_facts(cert)
    assert facts.identity == "alice@example.com"
    assert facts.issuer == "https://accounts.example.com"
    assert facts.repository == "acme/old"
    assert facts.source_repository_ref == "refs/tags/v1"


def test_der_utf8_long_form_and_garbage() -> None:
    text = "x" * 300
    assert _der_utf8(der_utf8(text)) == text
    assert _der_utf8(b"\x04\x01a") is None
    assert _der_utf8(b"\x0c\x05ab") is None


def test_exact_identity() -> None:
    facts = github_facts()
    assert allowed(SignerRule(identity=WORKFLOW_URI, issuer=GITHUB_ISSUER), facts)
    message = violation(SignerRule(identity="alice@example.com", issuer=GITHUB_ISSUER), facts)
    assert message == f"identity {WORKFLOW_URI!r} does not match policy 'alice@example.com'"


def test_identity_regex_is_matched_in_full() -> None:
    facts = github_facts()
    assert allowed(SignerRule(identity_regex=r"https://github\.com/acme/.*"), facts)
    # a prefix match or a match in the middle is not enough
    assert not allowed(SignerRule(identity_regex=r"https://github\.com/acme/"), facts)
    assert not allowed(SignerRule(identity_regex=r"acme/models"), facts)
    assert "does not match policy regex" in violation(SignerRule(identity_regex="acme"), facts)


def test_issuer() -> None:
    facts = github_facts()
    message = violation(SignerRule(identity=WORKFLOW_URI, issuer="https://gitlab.com"), facts)
    assert message == (f"issuer {GITHUB_ISSUER!r} does not match policy 'https://gitlab.com'")


def test_repository_workflow_ref_shorthand() -> None:
    facts = github_facts()
    assert allowed(SignerRule(repository="acme/models", workflow="release.yml", ref="main"),
                   facts)
    assert allowed(SignerRule(repository="ACME/Models",
                              workflow=".github/workflows/release.yml",
                              ref="refs/heads/main"), facts)
    assert violation(SignerRule(repository="acme/other"), facts) == \
        "repository 'acme/models' does not match policy 'acme/other'"
    assert violation(SignerRule(repository="acme/models", workflow="nightly.yml"), facts) == \
        ("workflow '.github/workflows/release.yml' does not match policy, expected "
         "'.github/workflows/nightly.yml'")
    assert violation(SignerRule(repository="acme/models", ref="release"), facts) == \
        "ref 'refs/heads/main' does not match policy 'release'"


def test_tag_refs_and_reusable_workflows() -> None:
    shared = "https://github.com/acme/shared/.github/workflows/sign.yml@refs/heads/main"
    facts = github_facts(**{"14": "refs/tags/v1.2", "9": shared})
    assert allowed(SignerRule(repository="acme/models", ref="v1.2"), facts)
    assert not allowed(SignerRule(repository="acme/models", ref="main"), facts)
    # the workflow may be the top-level one (build config) or the reusable one (build signer)
    assert allowed(SignerRule(repository="acme/models", workflow="release.yml"), facts)
    assert allowed(SignerRule(repository="acme/models",
                              workflow="acme/shared/.github/workflows/sign.yml"), facts)


def test_repository_shorthand_implies_the_github_issuer() -> None:
    facts = github_facts(**{"8": "https://evil.example.com"})
    assert violation(SignerRule(repository="acme/models"), facts) == \
        f"issuer 'https://evil.example.com' does not match policy {GITHUB_ISSUER!r}"


def test_certificate_without_provenance() -> None:
    cert = fulcio_certificate(x509.RFC822Name("bob@example.com"),
                              {FULCIO + "8": GITHUB_ISSUER})
    facts = signer_facts(cert)
    assert "names no source repository" in violation(SignerRule(repository="acme/models"), facts)
    assert "names no workflow" in violation(SignerRule(identity="bob@example.com",
                                                       workflow="x.yml"), facts)


def test_gitlab_shorthand() -> None:
    rule = SignerRule(gitlab_project="group/project", ref="main")
    assert allowed(rule, gitlab_facts())
    assert "does not match policy 'https://gitlab.com/group/project//.gitlab-ci.yml@main'" in \
        violation(rule, gitlab_facts(ref="refs/heads/dev"))
    assert not allowed(rule, gitlab_facts(project="group/other"))
    assert not allowed(rule, gitlab_facts(project="group/project/sub"))
    assert allowed(SignerRule(gitlab_project="group/project"), gitlab_facts(ref="refs/tags/v2"))
    self_hosted = SignerRule(gitlab_project="ml/models", gitlab_host="git.example.com",
                             workflow="ci/sign.yml")
    assert allowed(self_hosted, gitlab_facts("ml/models", host="git.example.com",
                                             config="ci/sign.yml"))
    assert "issuer 'https://git.example.com' does not match policy 'https://gitlab.com'" in \
        violation(SignerRule(gitlab_project="ml/models"),
                  gitlab_facts("ml/models", host="git.example.com"))


def test_any_of_several_signers() -> None:
    facts = github_facts()
    policy = Policy(signers=(SignerRule(identity="alice@example.com", issuer=GITHUB_ISSUER),
                             SignerRule(repository="acme/models", ref="main")))
    check_signer(policy, facts)
    policy = Policy(signers=(SignerRule(identity="alice@example.com"),
                             SignerRule(repository="acme/other")))
    with pytest.raises(PolicyViolation, match=r"no allowed signer matches \(signer 1: identity"):
        check_signer(policy, facts)


def test_no_signers_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no signer policy"):
        check_signer(Policy(), github_facts())


def test_flags_replace_the_config() -> None:
    config = PolicyConfig(signers=(SignerRule(identity="alice@example.com",
                                              issuer="https://accounts.example.com"),),
                          keys=(Path("a.pub"),), not_before="2024-01-01", strict=True)
    policy = build_policy(config, PolicyFlags())
    assert policy.signers == config.signers and policy.strict
    assert policy.not_before == datetime(2024, 1, 1, tzinfo=timezone.utc)
    policy = build_policy(config, PolicyFlags(identity="bob@example.com", issuer="https://x",
                                              keys=(Path("b.pub"),), not_before="2025-02-03"))
    assert policy.signers == (SignerRule(identity="bob@example.com", issuer="https://x"),)
    assert policy.keys == (Path("b.pub"),)
    assert policy.not_before == datetime(2025, 2, 3, tzinfo=timezone.utc)
    assert policy.strict  # --strict can only tighten


@pytest.mark.parametrize(("flags", "needle"), [
    (PolicyFlags(issuer="https://x"), "also pass --identity"),
    (PolicyFlags(identity_regex="(unclosed"), "is invalid"),
    (PolicyFlags(repository="not-a-repo"), "OWNER/REPO"),
    (PolicyFlags(gitlab_project="single"), "GROUP/PROJECT"),
    (PolicyFlags(identity="a", identity_regex="b"), "not both"),
    (PolicyFlags(identity="a", issuer="https://x", not_before="yesterday"), "is not a time"),
    (PolicyFlags(identity="a"), "needs its OIDC issuer"),
    (PolicyFlags(identity_regex=".*@acme[.]com"), "needs its OIDC issuer"),
])
def test_bad_flags(flags: PolicyFlags, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        build_policy(None, flags)


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-06-01", datetime(2025, 6, 1, tzinfo=timezone.utc)),
    ("2025-06-01T12:30:00Z", datetime(2025, 6, 1, 12, 30, tzinfo=timezone.utc)),
    ("2025-06-01T14:30:00+02:00", datetime(2025, 6, 1, 12, 30, tzinfo=timezone.utc)),
    ("1748781000", datetime(2025, 6, 1, 12, 30, tzinfo=timezone.utc)),
])
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text, "x") == expected


def test_not_before() -> None:
    policy = Policy(not_before=datetime(2025, 1, 1, tzinfo=timezone.utc))
    check_not_before(policy, datetime(2025, 1, 2, tzinfo=timezone.utc), "test")
    check_not_before(Policy(), None, "test")
    with pytest.raises(PolicyViolation, match="older than policy not_before 2025-01-01T00:00:00Z"):
        check_not_before(policy, datetime(2024, 12, 31, tzinfo=timezone.utc), "test")
    with pytest.raises(PolicyViolation, match="no trusted signing time"):
        check_not_before(policy, None, "test")


def test_policy_section_of_the_config_applies(oms_fixtures: Path, tmp_path: Path,
                                              capsys: Any) -> None:
    config = tmp_path / ".modelseal.yaml"
    model = str(oms_fixtures / "v1.1.0-sigstore")
    config.write_text(
        "policy:\n"
        "  signers:\n"
        "    - identity: alice@example.com\n"
        "      issuer: https://accounts.google.com\n"
        "    - identity_regex: '[a-z]+@us\\.ibm\\.com'\n"
        "      issuer: https://sigstore.verify.ibm.com/oauth2\n"
        "  not_before: 2025-01-01\n")
    assert parse_config(config.read_text(), root=tmp_path).policy.signers
    code, _, err = run_cli(["verify", model, "--config", str(config), "--offline"], capsys)
    assert code == 0, err
    config.write_text(config.read_text().replace("2025-01-01", "2025-12-01"))
    code, _, err = run_cli(["verify", model, "--config", str(config), "--offline"], capsys)
    assert code == 1 and "older than policy not_before 2025-12-01" in err
    # a flag replaces the config's signers
    code, _, err = run_cli(["verify", model, "--config", str(config), "--offline",
                            "--identity", "alice@example.com", "--issuer",
                            "https://accounts.google.com", "--not-before", "2025-01-01"], capsys)
    assert code == 1 and "identity 'stefanb@us.ibm.com' does not match" in err


def test_github_shorthand_against_a_non_github_signature(oms_fixtures: Path,
                                                         capsys: Any) -> None:
    code, _, err = run_cli(["verify", str(oms_fixtures / "v1.1.0-sigstore"), "--offline",
                            "--repository", "acme/models", "--workflow", "release.yml"], capsys)
    assert code == 1
    assert f"does not match policy {GITHUB_ISSUER!r}" in err


def test_a_flag_policy_is_not_widened_by_keys_from_the_config() -> None:
    # in CI the config comes from the pull request: it must not add trusted keys or roots
    config = PolicyConfig(keys=(Path("attacker.pub"),), certificate_roots=(Path("evil.pem"),))
    policy = build_policy(config, PolicyFlags(repository="acme/models",
                                              workflow="sign.yml", ref="main"))
    assert policy.keys == () and policy.certificate_roots == ()
    policy = build_policy(config, PolicyFlags(keys=(Path("release.pub"),)))
    assert policy.keys == (Path("release.pub"),) and policy.certificate_roots == ()
    assert build_policy(config, PolicyFlags()).keys == (Path("attacker.pub"),)

"""The GitLab CI component: its inputs, its jobs, the example pipeline and the README,
checked against GitLab's CI schema (``check-jsonschema --builtin-schema vendor.gitlab-ci``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import modelseal
from tests.gitlab_helpers import (
    EXAMPLES,
    REPO_ROOT,
    TEMPLATE,
    Component,
    InputError,
    dump_yaml,
    interpolate,
    schema_errors,
)

pytest.importorskip("check_jsonschema", reason="check-jsonschema is a test dependency")

README = REPO_ROOT / "README.md"
EXAMPLE_PIPELINE = EXAMPLES / ".gitlab-ci.yml"
JOB_KEYS = (".modelseal-verify", ".modelseal-sign", "modelseal-verify", "modelseal-sign")


def _validate(tmp_path: Path, documents: dict[str, Any]) -> None:
    """Write each document (a config, or YAML text) under its name; validate them all."""
    paths = []
    for name, document in documents.items():
        path = tmp_path / name
        path.write_text(document if isinstance(document, str) else dump_yaml(document))
        paths.append(path)
    errors = schema_errors(*paths)
    assert errors is None, errors


def _script(job: dict[str, Any]) -> list[str]:
    """A job's script with nested lists (YAML anchors) flattened, as GitLab runs it."""
    lines: list[str] = []
    for item in job["script"]:
        lines.extend(item if isinstance(item, list) else [item])
    return lines


def _resolved(config: dict[str, Any], name: str) -> dict[str, Any]:
    """``name`` with its ``extends:`` chain merged (hashes deep, everything else replaced)."""
    job = config[name]
    merged: dict[str, Any] = {}
    parents = job.get("extends", [])
    for parent in [parents] if isinstance(parents, str) else parents:
        merged = _merge(merged, _resolved(config, parent))
    return _merge(merged, {k: v for k, v in job.items() if k != "extends"})


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        both = isinstance(out.get(key), dict) and isinstance(value, dict)
        out[key] = _merge(out[key], value) if both else value
    return out


def _example_inputs() -> dict[str, Any]:
    pipeline = yaml.safe_load(EXAMPLE_PIPELINE.read_text())
    (entry,) = [item for item in pipeline["include"] if "component" in item]
    return dict(entry.get("inputs", {}))


def _readme_gitlab_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## GitLab CI\n")
    end = text.find("\n## ", start + 1)
    return text[start: end if end != -1 else len(text)]


# --- schema --------------------------------------------------------------------------------


def test_template_header_and_default_expansion_pass_the_gitlab_schema(tmp_path: Path) -> None:
    component = Component.load()
    _validate(tmp_path, {"header.yml": {"spec": {"inputs": component.inputs}},
                         "defaults.yml": component.expand()})


def test_template_with_every_input_set_passes_the_gitlab_schema(tmp_path: Path) -> None:
    inputs = {
        "stage": "verify", "sign-stage": "release", "image": "python:3.11-slim",
        "version": "0.1.0", "pip-spec": "modelseal[blake3]==0.1.0", "paths": "models/a models/b",
        "config": "ci/modelseal.yaml", "identity-regex": "https://gitlab\\.com/acme/.*",
        "issuer": "https://gitlab.com", "gitlab-project": "$CI_PROJECT_PATH",
        "gitlab-host": "$CI_SERVER_HOST", "ref": "refs/heads/$CI_DEFAULT_BRANCH",
        "not-before": "2025-06-01T00:00:00Z", "strict": True, "trust-config": "trust.json",
        "comment": False, "jobs": "none", "keys": "keys/release.pub\nkeys/old.pub",
        "certificate-roots": "pki/root.pem"}
    assert set(inputs) | {"identity"} == set(Component.load().inputs)
    _validate(tmp_path, {"all.yml": Component.load().expand(inputs)})


def test_example_pipeline_and_its_component_inputs_are_valid(tmp_path: Path) -> None:
    Component.load().resolve(_example_inputs())  # GitLab would accept these inputs
    # the whole pipeline GitLab builds: the example merged with the expanded component
    merged = {**Component.load().expand(_example_inputs()),
              **yaml.safe_load(EXAMPLE_PIPELINE.read_text())}
    merged["include"] = []
    _validate(tmp_path, {"example.yml": EXAMPLE_PIPELINE.read_text(), "merged.yml": merged})


def test_readme_pipelines_pass_the_gitlab_schema(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", _readme_gitlab_section(), re.S)
    pipelines = [b for b in blocks if re.search(r"^(include|[a-z-]+:\n  (extends|script))",
                                               b, re.M)]
    assert len(pipelines) >= 3, "the README's GitLab CI section shows whole pipelines"
    _validate(tmp_path, {f"readme-{n}.yml": block for n, block in enumerate(pipelines)})


def test_the_schema_check_catches_a_broken_job(tmp_path: Path) -> None:
    config = Component.load().expand()
    config["modelseal-verify"]["scirpt"] = config["modelseal-verify"].pop("rules")
    path = tmp_path / "broken.yml"
    path.write_text(dump_yaml(config))
    assert schema_errors(path) is not None


# --- interpolation helper ------------------------------------------------------------------


def test_interpolation_keeps_types_of_whole_values_and_stringifies_inside_text() -> None:
    values = {"flag": True, "name": "x"}
    node = {"a": "$[[ inputs.flag ]]", "b": "v=$[[ inputs.flag ]]", "$[[ inputs.name ]]-job": 1}
    assert interpolate(node, values) == {"a": True, "b": "v=true", "x-job": 1}
    with pytest.raises(InputError, match="unknown interpolation key"):
        interpolate("$[[ inputs.nope ]]", values)


def test_inputs_are_checked_like_gitlab_does() -> None:
    component = Component.load()
    with pytest.raises(InputError, match="unknown input"):
        component.resolve({"stirct": True})
    with pytest.raises(InputError, match="not a boolean"):
        component.resolve({"strict": "yes"})
    with pytest.raises(InputError, match="not one of"):
        component.resolve({"jobs": "everything"})


# --- what the jobs do ----------------------------------------------------------------------


def test_every_input_is_used_and_nothing_is_left_to_interpolate() -> None:
    text = TEMPLATE.read_text()
    body = text.split("\n---\n", 1)[1]
    for name in Component.load().inputs:
        assert f"$[[ inputs.{name} ]]" in body, f"input {name} is never used"
    assert "$[[" not in dump_yaml(Component.load().expand())


def test_hidden_and_ready_made_jobs_with_rules() -> None:
    config = Component.load().expand()
    for key in JOB_KEYS:
        assert key in config
    verify = _resolved(config, "modelseal-verify")
    sign = _resolved(config, "modelseal-sign")
    assert verify["stage"] == "test" and sign["stage"] == "deploy"
    assert [r["if"] for r in verify["rules"]] == [
        '$CI_PIPELINE_SOURCE == "merge_request_event" && $MODELSEAL_JOBS =~ /verify/']
    assert [r["if"] for r in sign["rules"]] == [
        "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $MODELSEAL_JOBS =~ /sign/"]
    assert _resolved(config, ".modelseal-sign")["rules"] == [
        {"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]
    none = Component.load().expand({"jobs": "none"})
    assert none["modelseal-verify"]["variables"]["MODELSEAL_JOBS"] == "none"


def test_template_declares_no_id_tokens_and_sign_explains_them_first() -> None:
    config = Component.load().expand()
    assert not [name for name, job in config.items() if "id_tokens" in job]
    script = _script(_resolved(config, ".modelseal-sign"))
    assert "SIGSTORE_ID_TOKEN" in script[0] and "id_tokens:" in script[0]
    assert "aud: sigstore" in script[0] and "exit 2" in script[0]
    assert "pip install" in script[1], "the token is checked before anything is installed"
    signing = "\n".join(script[2:])
    # local models into files; each registry reference, unless already signed, in place
    assert "ms sign --method sigstore" in signing
    assert 'ms sign "$ref" --method sigstore' in signing


def test_verify_publishes_junit_and_markdown_and_comments_only_with_a_token() -> None:
    verify = _resolved(Component.load().expand(), "modelseal-verify")
    artifacts = verify["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"]["junit"] == "modelseal-junit.xml"
    assert {"modelseal-junit.xml", "modelseal-report.md"} <= set(artifacts["paths"])
    script = "\n".join(_script(verify))
    assert "--format junit --output modelseal-junit.xml" in script
    assert "--format markdown --output modelseal-report.md" in script
    assert '[ -n "${MODELSEAL_GITLAB_TOKEN:-}" ]' in script
    assert "modelseal comment --gitlab" in script


def test_jobs_install_the_pinned_version_unless_a_pip_spec_is_given() -> None:
    component = Component.load()
    assert component.inputs["version"]["default"] == modelseal.__version__
    assert component.inputs["image"]["default"].startswith("python:3")
    config = component.expand()
    for job in ("modelseal-verify", "modelseal-sign"):
        resolved = _resolved(config, job)
        assert resolved["variables"]["MODELSEAL_VERSION"] == modelseal.__version__
        install = ("python -I -m pip install --quiet "
                   '"${MODELSEAL_PIP_SPEC:-modelseal==$MODELSEAL_VERSION}"')
        assert install in _script(resolved)


def test_policy_inputs_reach_verify_but_not_sign() -> None:
    inputs = {"gitlab-project": "acme/models", "ref": "refs/heads/main", "issuer": "https://x"}
    config = Component.load().expand(inputs)
    verify = _resolved(config, "modelseal-verify")["variables"]
    assert verify["MODELSEAL_GITLAB_PROJECT"] == "acme/models"
    assert verify["MODELSEAL_REF"] == "refs/heads/main"
    assert "MODELSEAL_GITLAB_PROJECT" not in _resolved(config, "modelseal-sign")["variables"]


# --- docs ----------------------------------------------------------------------------------


def test_readme_inputs_table_matches_the_component() -> None:
    section = _readme_gitlab_section()
    rows = re.findall(r"^\| `([a-z-]+)` \| (.*?) \| (.*?) \|$", section, re.M)
    documented = {name: default for name, default, _ in rows}
    inputs = Component.load().inputs
    assert set(documented) == set(inputs)
    for name, spec in inputs.items():
        default = spec.get("default")
        text = ("true" if default else "false") if isinstance(default, bool) else str(default)
        assert documented[name] == (f"`{text}`" if text else "empty"), name


def test_readme_names_the_component_path_and_the_id_tokens_pattern() -> None:
    section = _readme_gitlab_section()
    assert "templates/modelseal.yml" in section
    assert "component: $CI_SERVER_FQDN/" in section and "/modelseal/modelseal@" in section
    assert "extends: .modelseal-sign" in section
    assert "aud: sigstore" in section and "MODELSEAL_GITLAB_TOKEN" in section
    assert "--gitlab-project" in section and "MODELSEAL_PIP_SPEC" in section


def test_readme_shows_the_example_pipeline() -> None:
    first = re.findall(r"```yaml\n(.*?)```", _readme_gitlab_section(), re.S)[0]
    assert yaml.safe_load(first) == yaml.safe_load(EXAMPLE_PIPELINE.read_text())

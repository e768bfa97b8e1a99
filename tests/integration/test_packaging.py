"""The wheel carries what an installed modelseal needs: the demo model, templates, schema."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO_ROOT


def test_wheel_ships_example_templates_and_schema(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path),
                    str(REPO_ROOT)], check=True, capture_output=True, timeout=600)
    [wheel] = tmp_path.glob("modelseal-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    example = {f"modelseal/_example/tiny-model/{p.name}"
               for p in (REPO_ROOT / "examples" / "tiny-model").iterdir()}
    assert example <= names
    assert "modelseal/report/schema/report-v1.json" in names
    assert "modelseal/report/templates/github-comment.md.j2" in names
    assert "modelseal/py.typed" in names
    assert not any(name.startswith("tests/") for name in names)


def test_the_code_and_the_package_metadata_name_one_version() -> None:
    import re
    from importlib.metadata import version

    import modelseal

    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    declared = re.search(r'^version = "([^"]+)"$', pyproject, re.M).group(1)  # type: ignore[union-attr]
    assert modelseal.__version__ == declared == version("modelseal")

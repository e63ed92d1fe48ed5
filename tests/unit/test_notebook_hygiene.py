"""The committed notebooks: built from their sources, stripped, each with one quiz bank."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOURCES = sorted((ROOT / "notebooks" / "src").glob("*.py"))


def test_there_are_notebooks_and_sources_for_each_other():
    assert NOTEBOOKS, "no notebooks"
    assert [p.stem for p in NOTEBOOKS] == [p.stem for p in SOURCES]


def test_notebooks_are_built_from_their_sources():
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "notebooks.py"), "check"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped_and_named_by_the_scheme(path):
    assert re.fullmatch(r"\d\d-[a-z0-9-]+", path.stem)
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "widgets" not in nb["metadata"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_connects_first_and_ends_in_its_quiz(path):
    nb = json.loads(path.read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert "labsetup.connect()" in code[0]
    assert f'show_quiz("{path.stem}")' in code[-1]
    assert code[-1].startswith("# NBVAL_IGNORE_OUTPUT")
    assert (ROOT / "notebooks" / "quizzes" / f"{path.stem}.yaml").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_asserts_what_it_shows(path):
    nb = json.loads(path.read_text())
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert code.count("assert ") >= 3
    assert "def " not in code, "logic belongs in labsetup, not in notebook cells"


def test_manifests_used_by_notebooks_exist():
    used = set()
    for path in SOURCES:
        used |= set(re.findall(r'manifests\.(?:show|apply|load)\((?:lab, )?"([\w-]+)"', path.read_text()))
    have = {p.stem for p in (ROOT / "notebooks" / "manifests").glob("*.yaml")}
    assert used and used <= have, used - have

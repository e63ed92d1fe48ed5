"""Test-session setup shared by tests/ and the nbval notebook run.

Every test, and every notebook kernel nbval starts, uses a lab directory of its own
(`.lab-test/`, or $SA_LAB_DIR when set) so a test run never disturbs the learner's lab in
`.lab/`. A test lab that this session found stopped is brought down when the session ends,
unless --keep-lab is given; one that was already running is left as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("SA_LAB_DIR", str(ROOT / ".lab-test"))
os.environ.setdefault("SA_LAB_LEARNER", "pytest")
_WAS_RUNNING = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--keep-lab", action="store_true", help="leave the test lab running after the session")


def _backend():
    from labsetup.cluster import get_backend

    return get_backend(None, Path(os.environ["SA_LAB_DIR"]))


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_WAS_RUNNING] = _backend().status().ready


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.getoption("--keep-lab") or session.config.stash.get(_WAS_RUNNING, True):
        return
    _backend().down()

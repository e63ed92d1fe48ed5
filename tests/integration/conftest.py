"""Live-cluster fixtures: one embedded lab for the session, one namespace per test."""

from __future__ import annotations

import uuid

import pytest

import labsetup
from labsetup.lab import Lab


@pytest.fixture(scope="session")
def lab() -> Lab:
    """The session's live lab (the real control plane), started if needed."""
    return labsetup.connect()


@pytest.fixture
def namespace(lab: Lab, request: pytest.FixtureRequest):
    """A fresh namespace for one test, deleted afterwards."""
    base = request.node.name.lower().replace("_", "-")[:40].strip("-")
    name = f"t-{base}-{uuid.uuid4().hex[:5]}"
    lab.namespace(name, reset=False)
    yield name
    lab.core.delete_namespace(name)

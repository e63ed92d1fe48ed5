"""The real kind CLI (from the Go module proxy) against kind-config.yaml, on a machine without Docker.

kind decodes and validates its config before it looks for a container engine, so a valid file
gets as far as the Docker check. No kind cluster is faked here.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from labsetup.cluster import kind
from labsetup.errors import BackendUnavailable

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def kind_cli():
    return kind.kind_binary() or kind.install_kind()


def create(kind_cli, config, tmp_path):
    run = subprocess.run(
        [
            str(kind_cli),
            "create",
            "cluster",
            "--name",
            "sa-lab-config-check",
            "--config",
            str(config),
            "--kubeconfig",
            str(tmp_path / "kubeconfig"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return run.returncode, run.stdout + run.stderr


@pytest.mark.skipif(
    kind.docker_problem() is None, reason="a container engine exists: this would create a cluster"
)
def test_kind_accepts_the_config_and_stops_at_the_missing_engine(kind_cli, tmp_path):
    code, out = create(kind_cli, kind.CONFIG, tmp_path)
    assert code != 0
    assert "unable to decode config" not in out and "invalid" not in out.lower()
    assert "docker info" in out


@pytest.mark.skipif(kind.docker_problem() is None, reason="a container engine exists")
def test_kind_rejects_a_broken_config(kind_cli, tmp_path):
    broken = tmp_path / "kind-config.yaml"
    broken.write_text(kind.CONFIG.read_text().replace("role: control-plane", "rolle: control-plane"))
    code, out = create(kind_cli, broken, tmp_path)
    assert code != 0 and "unable to decode config" in out


@pytest.mark.skipif(kind.docker_problem() is None, reason="a container engine exists")
def test_the_kind_backend_says_what_to_install(kind_cli, tmp_path):
    with pytest.raises(BackendUnavailable) as err:
        kind.KindBackend(tmp_path / "lab").up()
    message = str(err.value)
    assert "Docker" in message and "embedded backend needs neither" in message


def test_a_missing_kind_cli_names_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("SA_LAB_CACHE", str(tmp_path / "empty"))
    assert shutil.which("kind") is None
    with pytest.raises(BackendUnavailable, match="build --kind"):
        kind.KindBackend(tmp_path / "lab").up()

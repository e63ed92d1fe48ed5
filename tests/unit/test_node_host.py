"""Host safety for the node: kernel settings saved and restored, and only the lab's leftovers removed."""

import json
import socket
from pathlib import Path

import pytest

from labsetup.cluster import node_host


def fake_sys(root, values):
    for name, value in values.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(value + "\n")


def test_save_then_restore_puts_the_values_back(tmp_path):
    sys_root, saved = tmp_path / "sys", tmp_path / "saved.json"
    fake_sys(sys_root, {"vm/overcommit_memory": "0", "kernel/panic": "0", "kernel/panic_on_oops": "0"})
    assert node_host.save_sysctls(saved, sys_root) == {
        "vm/overcommit_memory": "0",
        "kernel/panic": "0",
        "kernel/panic_on_oops": "0",
    }
    fake_sys(sys_root, {"vm/overcommit_memory": "1", "kernel/panic": "10", "kernel/panic_on_oops": "1"})
    node_host.restore_sysctls(saved, sys_root)
    assert node_host.read_sysctls(sys_root) == {
        "vm/overcommit_memory": "0",
        "kernel/panic": "0",
        "kernel/panic_on_oops": "0",
    }
    assert not saved.exists()


KUBELET_WRITES = {  # setupKernelTunables in kubelet v1.37.2 (pkg/kubelet/cm/container_manager_linux.go)
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
    "kernel/keys/root_maxkeys": "1000000",
    "kernel/keys/root_maxbytes": "25000000",
}


def test_every_setting_the_kubelet_writes_is_put_back(tmp_path):
    sys_root, saved = tmp_path / "sys", tmp_path / "saved.json"
    host = {name: "7" for name in KUBELET_WRITES}
    fake_sys(sys_root, host)
    node_host.save_sysctls(saved, sys_root)
    fake_sys(sys_root, KUBELET_WRITES)
    node_host.restore_sysctls(saved, sys_root)
    assert node_host.read_sysctls(sys_root) == host


def test_a_second_save_keeps_the_values_from_before_any_node(tmp_path):
    sys_root, saved = tmp_path / "sys", tmp_path / "saved.json"
    fake_sys(sys_root, {"vm/overcommit_memory": "0", "kernel/panic": "0", "kernel/panic_on_oops": "0"})
    node_host.save_sysctls(saved, sys_root)
    fake_sys(sys_root, {"vm/overcommit_memory": "1", "kernel/panic": "10", "kernel/panic_on_oops": "1"})
    node_host.save_sysctls(saved, sys_root)  # e.g. `up` again after a crash
    assert json.loads(saved.read_text())["kernel/panic"] == "0"


def test_restore_without_a_saved_file_changes_nothing(tmp_path):
    sys_root = tmp_path / "sys"
    fake_sys(sys_root, {"kernel/panic": "10"})
    assert node_host.restore_sysctls(tmp_path / "none.json", sys_root) == {}
    assert node_host.read_sysctls(sys_root) == {"kernel/panic": "10"}


# ----- removing what the node made, and only that (on a fake host tree) -------------------------
SANDBOX = "cc858475146eacac1a19845bd312bbce05721b9d476c4b3104491727ee59a0d6"
ADDRESS = "/run/sa-lab/9d526550d8/containerd.sock"


@pytest.fixture
def host(tmp_path, monkeypatch):
    root = tmp_path / "host"
    paths = {
        "SHIM_SOCKETS": root / "run/containerd/s",
        "CONTAINER_LOGS": root / "var/log/containers",
        "CNI_CACHE": root / "var/lib/cni",
        "CGROUP_ROOT": root / "sys/fs/cgroup",
        "NET_CLASS": root / "sys/class/net",
        "DEVICE_PLUGINS": root / "var/lib/kubelet/device-plugins",
    }
    for name, path in paths.items():
        monkeypatch.setattr(node_host, name, path)
    fixed = (
        paths["SHIM_SOCKETS"],
        paths["SHIM_SOCKETS"].parent,
        paths["CONTAINER_LOGS"],
        paths["CNI_CACHE"] / "results",
        paths["CNI_CACHE"],
        paths["DEVICE_PLUGINS"],
        paths["DEVICE_PLUGINS"].parent,
    )
    monkeypatch.setattr(node_host, "FIXED_DIRS", fixed)
    for path in (paths["CONTAINER_LOGS"], paths["CGROUP_ROOT"] / "cpu" / "user.slice", paths["NET_CLASS"]):
        path.mkdir(parents=True)
    (paths["CONTAINER_LOGS"] / "theirs.log").write_text("kept")
    return paths


def test_clean_removes_only_what_this_lab_added(host, tmp_path):
    before = node_host.snapshot()
    lab = tmp_path / "lab" / "node"
    ours_socket = next(iter(node_host.shim_socket_names(Path(ADDRESS), [SANDBOX])))
    host["SHIM_SOCKETS"].mkdir(parents=True)
    (host["SHIM_SOCKETS"] / ours_socket).touch()
    (host["SHIM_SOCKETS"] / ("f" * 64)).touch()  # another containerd's shim, started meanwhile
    (host["CONTAINER_LOGS"] / "app_ns_c-1.log").symlink_to(lab / "pod-logs" / "x.log")
    (host["CONTAINER_LOGS"] / "other_ns_c-1.log").symlink_to("/var/log/pods/other.log")
    results = host["CNI_CACHE"] / "results"
    results.mkdir(parents=True)
    for name in (f"sa-lab-{SANDBOX}-eth0", f"cni-loopback-{SANDBOX}-lo", "cni-loopback-deadbeef-lo"):
        (results / name).write_text("{}")
    host["DEVICE_PLUGINS"].mkdir(parents=True)
    (host["DEVICE_PLUGINS"] / "kubelet.sock").touch()
    (host["CGROUP_ROOT"] / "cpu" / "kubepods" / "besteffort" / "pod1").mkdir(parents=True)
    (host["CGROUP_ROOT"] / "cpu" / "system.slice").mkdir()

    gone = node_host.clean(
        before,
        bridge="salab0",
        network="sa-lab",
        lab_marker=str(lab),
        ids={SANDBOX},
        shim_sockets={ours_socket},
    )

    assert str(host["SHIM_SOCKETS"] / ours_socket) in gone
    assert sorted(p.name for p in host["SHIM_SOCKETS"].iterdir()) == ["f" * 64]
    assert sorted(p.name for p in host["CONTAINER_LOGS"].iterdir()) == ["other_ns_c-1.log", "theirs.log"]
    assert sorted(p.name for p in results.iterdir()) == ["cni-loopback-deadbeef-lo"]
    assert not host["DEVICE_PLUGINS"].parent.exists()  # made by the node, empty again: removed
    assert sorted(p.name for p in (host["CGROUP_ROOT"] / "cpu").iterdir()) == ["system.slice", "user.slice"]


def test_clean_keeps_directories_that_existed_before(host):
    host["DEVICE_PLUGINS"].mkdir(parents=True)
    (host["DEVICE_PLUGINS"] / "vendor.sock").touch()
    (host["CNI_CACHE"] / "results").mkdir(parents=True)  # empty, but the host's
    before = node_host.snapshot()
    (host["DEVICE_PLUGINS"] / "kubelet.sock").touch()
    (host["DEVICE_PLUGINS"] / "kubelet_internal_checkpoint").write_text("{}")
    (host["DEVICE_PLUGINS"] / "gpu-vendor.sock").touch()  # a device plugin registering meanwhile
    node_host.clean(before, bridge="salab0", network="sa-lab", lab_marker="/nowhere")
    assert sorted(p.name for p in host["DEVICE_PLUGINS"].iterdir()) == ["gpu-vendor.sock", "vendor.sock"]
    assert (host["CNI_CACHE"] / "results").is_dir()


def test_shim_socket_names_follow_containerds_formula():
    # observed on a live node: the shim of sandbox SANDBOX listened on /run/containerd/s/57d4...
    names = node_host.shim_socket_names(Path(ADDRESS), [SANDBOX])
    assert "57d4961927f3a249f7b7bca459007088dc8665c41c488af8cff8165b7b7e3529" in names
    assert len(names) == 2  # and its debug socket


def test_sandbox_ids_come_from_the_state_directory(tmp_path):
    run = tmp_path / "run"
    (run / "state" / "io.containerd.grpc.v1.cri" / "sandboxes" / "sb1").mkdir(parents=True)
    (run / "runc" / "k8s.io" / "ctr1").mkdir(parents=True)
    assert node_host.sandbox_ids(run, run / "containerd.sock") == {"sb1", "ctr1"}


def test_kubelet_answers_only_when_something_listens(tmp_path):
    path = tmp_path / "kubelet.sock"
    assert not node_host.kubelet_answers(path)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        assert node_host.kubelet_answers(path)
    assert path.exists() and not node_host.kubelet_answers(path)  # a stale socket file


# ----- where the node cannot run, it says so plainly ----------------------------------------------
def test_unavailable_names_what_is_missing(monkeypatch, tmp_path):
    from labsetup.cluster import node

    monkeypatch.setattr(node.platform, "system", lambda: "Darwin")
    assert node.unavailable() == "the node needs Linux"
    monkeypatch.setattr(node.platform, "system", lambda: "Linux")
    monkeypatch.setattr(node.os, "geteuid", lambda: 1000)
    assert "needs root" in node.unavailable()
    monkeypatch.setattr(node.os, "geteuid", lambda: 0)
    monkeypatch.setattr(node, "RUNC", tmp_path / "runc")
    reason = node.unavailable()
    assert str(tmp_path / "runc") in reason and "apt-get install runc" in reason


def test_up_with_node_refuses_plainly_where_the_node_cannot_run(monkeypatch, tmp_path):
    from labsetup.cluster import embedded
    from labsetup.errors import BackendUnavailable

    monkeypatch.setattr(embedded, "node_unavailable", lambda: "the node needs root (...)")
    backend = embedded.EmbeddedBackend(tmp_path / "lab", with_node=True)
    with pytest.raises(BackendUnavailable, match="needs root.*without --with-node"):
        backend.up(allow_build=False)
    assert not backend.capabilities.pods_run and not backend.capabilities.exec


def test_sa_lab_node_env_asks_for_the_node(monkeypatch, tmp_path):
    from labsetup.cluster.embedded import EmbeddedBackend

    monkeypatch.delenv("SA_LAB_NODE", raising=False)
    assert not EmbeddedBackend(tmp_path / "a").with_node
    monkeypatch.setenv("SA_LAB_NODE", "1")
    assert EmbeddedBackend(tmp_path / "b").with_node
    assert not EmbeddedBackend(tmp_path / "c", with_node=False).with_node
    status = EmbeddedBackend(tmp_path / "b").status()
    assert status.node is False and status.to_dict()["node"] is False

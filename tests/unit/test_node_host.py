"""Saving and restoring the kernel settings the kubelet rewrites (on a fake /proc/sys)."""

import json

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

"""The existing backend against a real cluster: the session's embedded lab plays the shared cluster."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

import labsetup
from labsetup import manifests
from labsetup.cluster.existing import ExistingBackend
from labsetup.errors import InputError
from labsetup.lab import Lab

pytestmark = pytest.mark.live


@pytest.fixture
def shared_kubeconfig(lab, tmp_path) -> Path:
    """The instructor's kubeconfig: the shared cluster's context `sa-lab`, and a decoy that is current."""
    config = yaml.safe_load(lab.kubeconfig.read_text())
    config["clusters"].append({"name": "decoy", "cluster": {"server": "https://127.0.0.1:9"}})
    config["users"].append({"name": "decoy-admin", "user": {"token": "decoy-token"}})
    config["contexts"].append({"name": "decoy", "context": {"cluster": "decoy", "user": "decoy-admin"}})
    config["current-context"] = "decoy"
    path = tmp_path / "instructor" / "kubeconfig"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def learner(shared_kubeconfig, tmp_path):
    made = []

    def make(prefix: str, allow: bool = False) -> Lab:
        backend = ExistingBackend(
            tmp_path / prefix,
            kubeconfig=shared_kubeconfig,
            context="sa-lab",
            prefix=f"{prefix}-",
            allow_cluster_writes=allow,
        )
        backend.up()
        made.append(backend)
        return Lab(backend)

    yield make
    for backend in made:
        backend.down(purge=True)


def cluster_scoped(lab) -> set[str]:
    return {o.metadata.name for o in lab.rbac.list_cluster_role_binding().items} | {
        o.metadata.name for o in lab.rbac.list_cluster_role().items
    }


def test_two_learners_side_by_side_and_down_removes_only_ones_own(lab, learner):
    alice, bob = learner("alice", allow=True), learner("bob", allow=True)
    a_ns, b_ns = alice.namespace("lesson-05"), bob.namespace("lesson-05")
    assert a_ns.startswith("alice-lesson-05-") and b_ns.startswith("bob-lesson-05-")
    manifests.apply(alice, "05-risky-bindings", a_ns)
    manifests.apply(bob, "05-risky-bindings", b_ns)
    # made by the admin: one without labels, one with alice's prefix but not her labels
    admin_ns = lab.namespace("not-a-learners", reset=False)
    look_alike = f"alice-admin-{uuid.uuid4().hex[:5]}"
    lab.core.create_namespace({"metadata": {"name": look_alike, "labels": {"sa-lab/managed": "true"}}})
    before = cluster_scoped(lab)
    assert {"alice-ci-cluster-admin", "alice-pod-debugger", "bob-ci-cluster-admin"} <= before

    alice.backend.down()

    assert lab.core.read_namespace(a_ns).status.phase == "Terminating"
    for untouched in (b_ns, admin_ns, look_alike):
        assert lab.core.read_namespace(untouched).status.phase == "Active", untouched
    after = cluster_scoped(lab)
    assert {n for n in before - after} == {n for n in before if n.startswith("alice-")}
    assert {"bob-ci-cluster-admin", "bob-pod-debugger", "cluster-admin", "admin"} <= after
    assert bob.core.read_namespace(b_ns).metadata.labels["sa-lab/learner"] == "bob"  # bob still works
    for name in (admin_ns, look_alike):
        lab.core.delete_namespace(name)


def test_cluster_scoped_writes_are_refused_unless_allowed(lab, learner):
    carol = learner("carol")
    ns = carol.namespace("lesson-05")
    with pytest.raises(
        InputError, match="refusing to create ClusterRole.*rerun `up` with --allow-cluster-writes"
    ):
        manifests.apply(carol, "05-risky-bindings", ns)
    assert not carol.capabilities.cluster_scoped_writes
    assert not any(n.startswith("carol-") for n in cluster_scoped(lab))
    carol.backend.down()  # nothing cluster-scoped to find, and no error for it
    assert lab.core.read_namespace(ns).status.phase == "Terminating"


def test_objects_carry_the_lab_and_learner_labels(lab, learner):
    dave = learner("dave", allow=True)
    ns = dave.namespace("lesson-01")
    labels = lab.core.read_namespace(ns).metadata.labels
    assert labels["sa-lab/managed"] == "true" and labels["sa-lab/learner"] == "dave"
    stored = manifests.apply(dave, "05-risky-bindings", ns)
    crb = next(o for o in stored if o["kind"] == "ClusterRoleBinding")
    assert (
        crb["metadata"]["name"].startswith("dave-") and crb["metadata"]["labels"]["sa-lab/learner"] == "dave"
    )
    role_ref = next(o for o in stored if o["metadata"]["name"] == "dave-debug-helper-pod-debugger")["roleRef"]
    assert role_ref["name"] == "dave-pod-debugger"  # the renamed ClusterRole from the same manifest


def test_kubeconfig_holds_only_the_named_context_and_is_private(lab, learner):
    erin = learner("erin")
    config = yaml.safe_load(erin.kubeconfig.read_text())
    assert [c["name"] for c in config["contexts"]] == ["sa-lab"] and config["current-context"] == "sa-lab"
    assert "decoy" not in erin.kubeconfig.read_text()
    assert stat.S_IMODE(erin.kubeconfig.stat().st_mode) == 0o600
    assert erin.kubeconfig.parent == erin.backend.dir and erin.kubeconfig != lab.kubeconfig
    assert erin.version() == lab.version()


def test_a_missing_kubeconfig_or_context_is_a_clear_error(lab, tmp_path):
    with pytest.raises(InputError, match="--kubeconfig FILE and --context NAME"):
        ExistingBackend(tmp_path / "x").up()
    with pytest.raises(InputError, match="unable to use context 'nope'.*has no such context; it has: sa-lab"):
        ExistingBackend(tmp_path / "y", kubeconfig=lab.kubeconfig, context="nope").up()


def test_cli_up_then_connect_without_flags_never_reads_home_kubeconfig(
    lab, shared_kubeconfig, tmp_path, monkeypatch
):
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    garbage = home / ".kube" / "config"
    garbage.write_text("this: is not a kubeconfig the lab may read\n")  # any read of it would fail
    lab_dir = tmp_path / "frank"
    for key, value in (("HOME", home), ("SA_LAB_DIR", lab_dir), ("KUBECONFIG", garbage)):
        monkeypatch.setenv(key, str(value))
    monkeypatch.delenv("SA_LAB_BACKEND", raising=False)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "labsetup", *args], capture_output=True, text=True)

    flags = ["--kubeconfig", str(shared_kubeconfig), "--context", "sa-lab", "--prefix", "frank-"]
    up = cli("up", "--backend", "existing", *flags, "--allow-cluster-writes")
    assert up.returncode == 0, up.stderr
    assert f"kubeconfig: {lab_dir / 'existing.kubeconfig'}" in up.stdout
    status = cli("status", "--json")
    assert status.returncode == 0, status.stderr
    reported = json.loads(status.stdout)
    assert reported["backend"] == "existing" and reported["ready"] is True and reported["binaries"] is None
    assert reported["settings"]["prefix"] == "frank-" and reported["settings"]["allow_cluster_writes"] is True
    assert reported["capabilities"]["pods_run"] is False  # the shared cluster here has no Ready node

    connected = labsetup.connect(directory=lab_dir)
    assert connected.backend.name == "existing" and connected.prefix == "frank-"
    assert os.environ["KUBECONFIG"] == str(lab_dir / "existing.kubeconfig")
    ns = connected.namespace("lesson-01")
    kubectl = Path(sys.executable).parent / "kubectl"
    seen = subprocess.run([str(kubectl), "get", "ns", ns, "-o", "name"], capture_output=True, text=True)
    assert seen.stdout.strip() == f"namespace/{ns}", (
        seen.stderr
    )  # kubectl follows KUBECONFIG to the lab's file

    down = cli("down")
    assert down.returncode == 0, down.stderr
    assert lab.core.read_namespace(ns).status.phase == "Terminating"
    assert cli("status").returncode == 1
    assert cli("down", "--purge").returncode == 0
    assert not (lab_dir / "existing.kubeconfig").exists() and not (lab_dir / "backend.json").exists()
    assert garbage.read_text() == "this: is not a kubeconfig the lab may read\n"

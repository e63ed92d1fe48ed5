"""The existing backend against a real cluster: the session's embedded lab plays the shared cluster."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
import yaml

import labsetup
from labsetup import manifests
from labsetup.cluster.existing import ExistingBackend
from labsetup.errors import InputError
from labsetup.lab import Lab

pytestmark = pytest.mark.live


@pytest.fixture
def learner(lab, tmp_path):
    made = []

    def make(prefix: str, allow: bool = False) -> Lab:
        backend = ExistingBackend(
            tmp_path / prefix,
            kubeconfig=lab.kubeconfig,
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


def test_two_learners_side_by_side_and_down_removes_only_ones_own(lab, learner):
    alice, bob = learner("alice", allow=True), learner("bob", allow=True)
    a_ns, b_ns = alice.namespace("lesson-05"), bob.namespace("lesson-05")
    assert a_ns.startswith("alice-lesson-05-") and b_ns.startswith("bob-lesson-05-")
    manifests.apply(alice, "05-risky-bindings", a_ns)
    manifests.apply(bob, "05-risky-bindings", b_ns)
    admin_ns = lab.namespace("not-a-learners", reset=False)  # made by the admin, unlabelled for learners
    alice.backend.down()
    gone = lab.core.read_namespace(a_ns)
    assert gone.status.phase == "Terminating"
    assert lab.core.read_namespace(b_ns).status.phase == "Active"
    assert lab.core.read_namespace(admin_ns).status.phase == "Active"
    names = {b.metadata.name for b in lab.rbac.list_cluster_role_binding().items}
    assert "alice-ci-cluster-admin" not in names and "bob-ci-cluster-admin" in names
    assert "cluster-admin" in {r.metadata.name for r in lab.rbac.list_cluster_role().items}
    lab.core.delete_namespace(admin_ns)


def test_cluster_scoped_writes_are_refused_unless_allowed(learner):
    carol = learner("carol")
    ns = carol.namespace("lesson-05")
    with pytest.raises(InputError, match="cluster-scoped writes are not allowed"):
        manifests.apply(carol, "05-risky-bindings", ns)
    assert not carol.capabilities.cluster_scoped_writes


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
    assert stat.S_IMODE(erin.kubeconfig.stat().st_mode) == 0o600
    assert erin.version() == lab.version()


def test_a_missing_kubeconfig_or_context_is_a_clear_error(lab, tmp_path):
    with pytest.raises(InputError, match="--kubeconfig FILE and --context NAME"):
        ExistingBackend(tmp_path / "x").up()
    with pytest.raises(InputError, match="has no context 'nope'"):
        ExistingBackend(tmp_path / "y", kubeconfig=lab.kubeconfig, context="nope").up()


def test_cli_up_then_connect_without_flags_never_reads_home_kubeconfig(lab, tmp_path):
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text("this: is not a kubeconfig the lab may read\n")
    lab_dir = tmp_path / "frank"
    env = dict(os.environ, HOME=str(home), SA_LAB_DIR=str(lab_dir), KUBECONFIG=str(home / ".kube" / "config"))
    env.pop("SA_LAB_BACKEND", None)
    up = subprocess.run(
        [
            sys.executable,
            "-m",
            "labsetup",
            "up",
            "--backend",
            "existing",
            "--kubeconfig",
            str(lab.kubeconfig),
            "--context",
            "sa-lab",
            "--prefix",
            "frank-",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert up.returncode == 0, up.stderr
    status = subprocess.run(
        [sys.executable, "-m", "labsetup", "status", "--json"], env=env, capture_output=True, text=True
    )
    assert '"backend": "existing"' in status.stdout and '"ready": true' in status.stdout
    connected = labsetup.connect(directory=lab_dir)
    assert connected.backend.name == "existing" and connected.prefix == "frank-"
    assert os.environ["KUBECONFIG"] == str(lab_dir / "kubeconfig")
    down = subprocess.run(
        [sys.executable, "-m", "labsetup", "down", "--purge"], env=env, capture_output=True, text=True
    )
    assert down.returncode == 0, down.stderr

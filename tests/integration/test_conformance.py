"""The same assertions for every backend: embedded and existing here, kind wherever a container engine runs.

The existing backend uses the session's embedded lab as "the shared cluster"; the embedded case
starts a lab of its own (the session lab must keep running for the others).
"""

from __future__ import annotations

import stat
import uuid

import pytest
import yaml

from labsetup import manifests
from labsetup.automount import TOKEN_MOUNT_PATH, has_token_volume
from labsetup.cluster.embedded import EmbeddedBackend
from labsetup.cluster.existing import ExistingBackend
from labsetup.cluster.kind import KindBackend, docker_problem, kind_binary
from labsetup.errors import InputError
from labsetup.lab import Lab
from labsetup.versions import KUBERNETES_VERSION, minor

pytestmark = pytest.mark.live


def make(name: str, lab: Lab, tmp_path, allow: bool):
    if name == "embedded":
        return EmbeddedBackend(tmp_path / "embedded")
    if name == "existing":
        return ExistingBackend(
            tmp_path / "existing",
            kubeconfig=lab.kubeconfig,
            context="sa-lab",
            prefix=f"conf{uuid.uuid4().hex[:4]}-",
            allow_cluster_writes=allow,
        )
    if problem := docker_problem():
        pytest.skip(f"no container engine: {problem}")
    if kind_binary() is None:
        pytest.skip("no kind CLI: python -m labsetup build --kind")
    return KindBackend(tmp_path / "kind")


@pytest.fixture(params=["embedded", "existing", "kind"])
def backend(request, lab, tmp_path):
    made = make(request.param, lab, tmp_path, allow=True)
    yield made
    made.down()


def ready_nodes(lab: Lab) -> bool:
    nodes = lab.core.list_node().items
    return any(c.type == "Ready" and c.status == "True" for n in nodes for c in n.status.conditions or [])


def cluster_role(name: str) -> list[dict]:
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
        }
    ]


def test_backend_conformance(backend, lab):
    status = backend.up()
    assert status.ready and status.backend == backend.name
    assert status.version.startswith(f"v{minor(KUBERNETES_VERSION)}.")
    assert backend.status().ready and backend.up().ready  # status changes nothing; up is idempotent

    # the lab's own kubeconfig: private, one context
    config = yaml.safe_load(backend.kubeconfig_path.read_text())
    assert len(config["contexts"]) == len(config["clusters"]) == len(config["users"]) == 1
    assert config["current-context"] == config["contexts"][0]["name"]
    assert stat.S_IMODE(backend.kubeconfig_path.stat().st_mode) == 0o600
    assert backend.kubeconfig_path.parent == backend.dir

    # a usable namespace, carrying the lab's labels and the learner's prefix
    learner = Lab(backend)
    ns = learner.namespace("conformance")
    meta = learner.core.read_namespace(ns).metadata
    assert ns.startswith(f"{learner.prefix}conformance-")
    assert learner.labels["sa-lab/managed"] == "true" and meta.labels.items() >= learner.labels.items()

    # a pod without serviceAccountName is admitted with `default` and the projected token volume
    pod = manifests.apply(learner, "01-pod-no-serviceaccount", ns)[0]
    assert pod["spec"]["serviceAccountName"] == "default" and has_token_volume(pod)
    mounts = [m["mountPath"] for m in pod["spec"]["containers"][0]["volumeMounts"]]
    assert TOKEN_MOUNT_PATH in mounts

    # capabilities agree with what the cluster shows
    caps = learner.capabilities
    assert caps.pods_run == ready_nodes(learner) and caps.exec == caps.pods_run
    assert caps.cluster_scoped_writes  # allowed here on every backend
    role = manifests.apply(learner, cluster_role("conformance-reader"), ns)[0]
    assert role["metadata"]["name"] == learner.cluster_name("conformance-reader")
    assert role["metadata"]["labels"].items() >= learner.labels.items()
    assert status.capabilities == caps.__dict__

    # down: not ready, and this learner's objects go
    backend.down()
    after = backend.status()
    assert not after.ready and backend.down() is None  # down twice is fine
    if backend.name == "existing":  # the shared cluster stays up (seen by its admin, `lab`)
        assert lab.backend.status().ready
        assert lab.core.read_namespace(ns).status.phase == "Terminating"
        names = {r.metadata.name for r in lab.rbac.list_cluster_role().items}
        assert role["metadata"]["name"] not in names and "view" in names


@pytest.mark.parametrize("name", ["existing", "kind"])
def test_cluster_scoped_writes_follow_the_capability(name, lab, tmp_path):
    backend = make(name, lab, tmp_path, allow=False)
    try:
        backend.up()
        learner = Lab(backend)
        ns = learner.namespace("conformance")  # a learner's own namespace is always allowed
        objects = cluster_role("conformance-writer")
        if learner.capabilities.cluster_scoped_writes:
            assert manifests.apply(learner, objects, ns)[0]["kind"] == "ClusterRole"
        else:
            with pytest.raises(InputError, match="cluster-scoped writes are not allowed"):
                manifests.apply(learner, objects, ns)
            names = {r.metadata.name for r in lab.rbac.list_cluster_role().items}
            assert learner.cluster_name("conformance-writer") not in names
    finally:
        backend.down()

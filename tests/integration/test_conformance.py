"""The same assertions for every backend: embedded and existing here, kind wherever Docker runs."""

from __future__ import annotations

import stat

import pytest
import yaml

from labsetup import manifests
from labsetup.automount import has_token_volume
from labsetup.cluster.embedded import EmbeddedBackend
from labsetup.cluster.existing import ExistingBackend
from labsetup.cluster.kind import KindBackend, docker_problem, kind_binary
from labsetup.lab import Lab

pytestmark = pytest.mark.live


@pytest.fixture(params=["embedded", "existing", "kind"])
def backend(request, lab, tmp_path):
    if request.param == "embedded":
        made = EmbeddedBackend(tmp_path / "embedded")
    elif request.param == "existing":
        made = ExistingBackend(
            tmp_path / "existing",
            kubeconfig=lab.kubeconfig,
            context="sa-lab",
            prefix="conf-",
            allow_cluster_writes=True,
        )
    else:
        if docker_problem() or kind_binary() is None:
            pytest.skip(f"no container engine or kind CLI here: {docker_problem() or 'kind not installed'}")
        made = KindBackend(tmp_path / "kind")
    yield made
    made.down()


def test_backend_conformance(backend):
    status = backend.up()
    assert status.ready and status.backend == backend.name and status.version.startswith("v1.37.")
    config = yaml.safe_load(backend.kubeconfig_path.read_text())
    assert len(config["contexts"]) == 1
    assert stat.S_IMODE(backend.kubeconfig_path.stat().st_mode) == 0o600

    lab = Lab(backend)
    ns = lab.namespace("conformance")
    meta = lab.core.read_namespace(ns).metadata
    assert ns.startswith(lab.prefix) and all(meta.labels.get(k) == v for k, v in lab.labels.items())
    pod = manifests.apply(lab, "01-pod-no-serviceaccount", ns)[0]
    assert pod["spec"]["serviceAccountName"] == "default" and has_token_volume(pod)

    nodes = lab.core.list_node().items
    ready = any(c.type == "Ready" and c.status == "True" for n in nodes for c in n.status.conditions or [])
    assert lab.capabilities.pods_run == ready
    assert lab.capabilities.exec == lab.capabilities.pods_run

    backend.down()
    after = backend.status()
    if backend.name == "existing":  # the shared cluster stays up; this learner's objects go
        assert not after.ready and lab.core.read_namespace(ns).status.phase == "Terminating"
    else:
        assert not after.ready

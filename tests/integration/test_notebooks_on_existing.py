"""Every lesson notebook, unchanged, on the existing backend (a learner on a shared cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labsetup.bench import run_notebooks
from labsetup.cluster.existing import ExistingBackend

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parents[2]


def test_notebooks_run_on_the_existing_backend(lab, tmp_path):
    learner = ExistingBackend(
        tmp_path / "learner",
        kubeconfig=lab.kubeconfig,
        context="sa-lab",
        prefix="nb-",
        allow_cluster_writes=True,
    )
    learner.up()
    try:
        run = run_notebooks(learner.dir, learner="nb-learner")
        assert run.returncode == 0, run.stdout[-4000:]
        assert " passed" in run.stdout.splitlines()[-1]
        namespaces = [
            n.metadata.name for n in lab.core.list_namespace(label_selector="sa-lab/learner=nb").items
        ]
        assert namespaces and all(n.startswith("nb-lesson-0") for n in namespaces)
    finally:
        learner.down(purge=True)

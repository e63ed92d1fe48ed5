"""Kubeconfig files for the lab (mode 0600, certificates embedded)."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from labsetup._files import write_atomic


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def render(server: str, ca: Path, cert: Path, key: Path, user: str, cluster: str = "sa-lab") -> str:
    """Return a one-context kubeconfig for `user` on `server`."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster, "cluster": {"server": server, "certificate-authority-data": _b64(ca)}}
        ],
        "users": [
            {"name": user, "user": {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}}
        ],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
    }
    return yaml.safe_dump(config, sort_keys=False)


def write(path: Path, server: str, ca: Path, cert: Path, key: Path, user: str) -> Path:
    """Write a kubeconfig with mode 0600 and return its path."""
    write_atomic(path, render(server, ca, cert, key, user), 0o600)
    return path

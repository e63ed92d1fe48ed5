"""Workloads made by controllers: find the pod a Deployment's ReplicaSet created."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from labsetup.errors import StartTimeout

if TYPE_CHECKING:
    from labsetup.lab import Lab


def pod_of(lab: Lab, namespace: str, app: str, timeout: float = 30.0) -> Any:
    """Return the pod labelled app=<app>, waiting until the ReplicaSet controller has created it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = lab.core.list_namespaced_pod(namespace, label_selector=f"app={app}").items
        live = [p for p in pods if p.metadata.deletion_timestamp is None]
        if live:
            return live[0]
        time.sleep(0.1)
    raise StartTimeout(
        f"no pod for app={app} in {namespace} after {timeout:.0f}s; "
        "are the deployment and replicaset controllers running?"
    )

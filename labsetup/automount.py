"""Who decides whether a pod gets a token: the ServiceAccount's setting, the pod's, or neither.

Every case is decided by the API server's ServiceAccount admission plugin on a real pod; the
lab only reads the admitted spec for the `kube-api-access-*` volume.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from labsetup.show import Table, mark

if TYPE_CHECKING:
    from labsetup.lab import Lab

TOKEN_VOLUME_PREFIX = "kube-api-access-"
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
SETTINGS: tuple[bool | None, ...] = (None, True, False)


def has_token_volume(pod: Any) -> bool:
    """Tell whether an admitted pod (API object or dict) got the automatic token volume."""
    spec = pod["spec"] if isinstance(pod, dict) else pod.spec
    volumes = spec.get("volumes") if isinstance(spec, dict) else spec.volumes
    names = [v["name"] if isinstance(v, dict) else v.name for v in volumes or []]
    return any(n.startswith(TOKEN_VOLUME_PREFIX) for n in names)


def _label(value: bool | None) -> str:
    return "unset" if value is None else str(value).lower()


def automount_matrix(lab: Lab, namespace: str) -> Table:
    """Admit one pod for every combination of account and pod setting; report who got a token.

    Rows carry `sa`, `pod` (true/false/unset) and `mounted` (bool) for asserts.
    """
    rows = []
    for sa_value, pod_value in itertools.product(SETTINGS, SETTINGS):
        name = f"sa-{_label(sa_value)}-pod-{_label(pod_value)}"
        lab.core.create_namespaced_service_account(
            namespace,
            {"metadata": {"name": name, "labels": lab.labels}, "automountServiceAccountToken": sa_value},
        )
        spec: dict[str, Any] = {
            "serviceAccountName": name,
            "containers": [{"name": "c", "image": "sa-lab.local/busybox:1"}],
        }
        if pod_value is not None:
            spec["automountServiceAccountToken"] = pod_value
        pod = lab.core.create_namespaced_pod(
            namespace, {"metadata": {"name": name, "labels": lab.labels}, "spec": spec}
        )
        mounted = has_token_volume(pod)
        rows.append(
            {
                "ServiceAccount says": _label(sa_value),
                "pod says": _label(pod_value),
                "token mounted": mark(mounted),
                "sa": _label(sa_value),
                "pod": _label(pod_value),
                "mounted": mounted,
            }
        )
    return Table(
        rows,
        ["ServiceAccount says", "pod says", "token mounted"],
        "automountServiceAccountToken: what the API server decided for 9 real pods",
    )


def harden_default_service_accounts(lab: Lab, namespaces: list[str] | None = None) -> Table:
    """Set automountServiceAccountToken: false on the `default` ServiceAccount of each namespace.

    With no list, every namespace this learner may change: all of them on a private lab, only
    those carrying the learner's prefix on a shared cluster. Returns before/after per namespace.
    """
    if namespaces is None:
        namespaces = [
            n.metadata.name
            for n in lab.core.list_namespace().items
            if n.metadata.name.startswith(lab.prefix) and n.status.phase == "Active"
        ]
    rows = []
    for ns in namespaces:
        before = lab.core.read_namespaced_service_account("default", ns).automount_service_account_token
        after = lab.core.patch_namespaced_service_account(
            "default", ns, {"automountServiceAccountToken": False}
        ).automount_service_account_token
        rows.append({"namespace": ns, "before": _label(before), "after": _label(after)})
    return Table(rows, title="default ServiceAccounts hardened")

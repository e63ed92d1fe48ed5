"""The existing backend: a cluster the user names explicitly (a kubeconfig file and a context).

For workshops on a shared cluster. Nothing is inferred from ~/.kube/config: the user passes
`--kubeconfig FILE --context NAME`, and the lab copies just that context into its own
kubeconfig. Every namespace and cluster-scoped object the lab creates carries the lab label, a
learner label and the learner's name prefix, so several learners share one cluster and `down`
removes exactly what this learner created. Cluster-scoped writes are refused unless allowed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from labsetup._files import write_atomic
from labsetup.cluster.base import Capabilities, Status
from labsetup.errors import InputError
from labsetup.paths import learner_name
from labsetup.progress import Progress, log_progress

SETTINGS = "backend.json"
LEARNER_LABEL = "sa-lab/learner"
MANAGED_LABEL = "sa-lab/managed"
_PATH_KEYS = ("certificate-authority", "client-certificate", "client-key", "tokenFile")


def default_prefix() -> str:
    """Return the learner's default prefix: the learner name, DNS-safe, plus a dash."""
    name = re.sub(r"[^a-z0-9-]", "-", learner_name().lower()).strip("-")[:20] or "learner"
    return f"{name}-"


def extract_context(source: Path, context: str) -> dict[str, Any]:
    """Return a kubeconfig holding only `context` from source, with file paths made absolute."""
    try:
        config = yaml.safe_load(source.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise InputError(f"unable to read kubeconfig {source}: {err}") from err
    contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
    if context not in contexts:
        raise InputError(
            f"kubeconfig {source} has no context {context!r}; it has: {', '.join(contexts) or 'none'}"
        )
    ctx = contexts[context]
    cluster = next((c for c in config.get("clusters") or [] if c["name"] == ctx["cluster"]), None)
    user = next((u for u in config.get("users") or [] if u["name"] == ctx.get("user")), None)
    if cluster is None or user is None:
        raise InputError(
            f"context {context!r} in {source} names a cluster or user that the file does not define"
        )
    for entry in (cluster["cluster"], user["user"]):
        for key in _PATH_KEYS:
            if key in entry and not Path(entry[key]).is_absolute():
                entry[key] = str((source.parent / entry[key]).resolve())
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [user],
        "contexts": [{"name": context, "context": ctx}],
        "current-context": context,
    }


def probe_kubeconfig(path: Path) -> tuple[str | None, str | None, str]:
    """Return (server, version, detail) for a kubeconfig's cluster; version is None if unreachable."""
    from kubernetes import client, config

    try:
        api = config.new_client_from_config(config_file=str(path), persist_config=False)
    except Exception as err:  # noqa: BLE001 - any unreadable kubeconfig is a status, not a crash
        return None, None, f"unusable kubeconfig: {err}"
    server = str(api.configuration.host)
    try:
        version = client.VersionApi(api).get_code(_request_timeout=3).git_version
        return server, str(version), "ready"
    except Exception as err:  # noqa: BLE001 - unreachable, refused, TLS: all mean "not ready"
        return server, None, f"API server not reachable: {type(err).__name__}"
    finally:
        api.close()


class ExistingBackend:
    """A named context of a cluster the user already has (shared with other learners)."""

    name = "existing"

    def __init__(
        self,
        lab_dir: Path,
        progress: Progress = log_progress,
        *,
        kubeconfig: Path | None = None,
        context: str | None = None,
        prefix: str | None = None,
        allow_cluster_writes: bool | None = None,
    ):
        self.dir = lab_dir
        self.progress = progress
        recorded = self._recorded()
        self.source = (
            Path(kubeconfig).resolve()
            if kubeconfig
            else (Path(recorded["kubeconfig"]) if recorded.get("kubeconfig") else None)
        )
        self.context = context or recorded.get("context")
        self.prefix = prefix if prefix is not None else recorded.get("prefix") or default_prefix()
        self.allow_cluster_writes = bool(
            allow_cluster_writes
            if allow_cluster_writes is not None
            else recorded.get("allow_cluster_writes", False)
        )
        self.pods_run = bool(recorded.get("pods_run", False))
        self.active = bool(recorded.get("active", False))

    def _recorded(self) -> dict[str, Any]:
        try:
            data = json.loads((self.dir / SETTINGS).read_text())
        except (OSError, ValueError):
            return {}
        return data if data.get("backend") == self.name else {}

    def _record(self) -> None:
        write_atomic(
            self.dir / SETTINGS,
            json.dumps(
                {
                    "backend": self.name,
                    "kubeconfig": str(self.source),
                    "context": self.context,
                    "prefix": self.prefix,
                    "allow_cluster_writes": self.allow_cluster_writes,
                    "pods_run": self.pods_run,
                    "active": self.active,
                },
                indent=2,
            ),
            0o600,
        )

    @property
    def capabilities(self) -> Capabilities:
        """What this cluster can show, as found at `up` (pods run where it has Ready nodes)."""
        return Capabilities(
            pods_run=self.pods_run,
            exec=self.pods_run,
            cluster_scoped_writes=self.allow_cluster_writes,
            max_token_expiration=None,
        )

    @property
    def labels(self) -> dict[str, str]:
        """The labels on everything this learner creates."""
        return {MANAGED_LABEL: "true", LEARNER_LABEL: self.prefix.rstrip("-")}

    @property
    def kubeconfig_path(self) -> Path:
        """The lab's own kubeconfig: only the chosen context."""
        return self.dir / "kubeconfig"

    def up(self) -> Status:
        """Copy the chosen context into the lab's kubeconfig, check the cluster answers, record the choice."""
        if self.source is None or not self.context:
            raise InputError(
                "the existing backend needs --kubeconfig FILE and --context NAME "
                "(nothing is read from ~/.kube/config unless you name it)"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.kubeconfig_path, yaml.safe_dump(extract_context(self.source, self.context)), 0o600)
        server, version, detail = probe_kubeconfig(self.kubeconfig_path)
        if version is None:
            raise InputError(f"unable to reach the cluster of context {self.context!r} ({server}): {detail}")
        self.pods_run = self._has_ready_nodes()
        self.active = True
        self._record()
        return self.status()

    def _api(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig_path), persist_config=False)

    def _has_ready_nodes(self) -> bool:
        from kubernetes import client

        try:
            nodes = client.CoreV1Api(self._api()).list_node().items
        except Exception:  # noqa: BLE001 - no right to list nodes: assume pods cannot be shown
            return False
        return any(c.type == "Ready" and c.status == "True" for n in nodes for c in n.status.conditions or [])

    def down(self, purge: bool = False) -> None:
        """Delete what this learner created (by its labels) and nothing else; purge forgets the settings."""
        from kubernetes import client

        if self.kubeconfig_path.exists():
            api = self._api()
            selector = ",".join(f"{k}={v}" for k, v in self.labels.items())
            core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
            for ns in core.list_namespace(label_selector=selector).items:
                core.delete_namespace(ns.metadata.name)
            if self.allow_cluster_writes:
                for crb in rbac.list_cluster_role_binding(label_selector=selector).items:
                    rbac.delete_cluster_role_binding(crb.metadata.name)
                for role in rbac.list_cluster_role(label_selector=selector).items:
                    rbac.delete_cluster_role(role.metadata.name)
        self.active = False
        if purge:
            (self.dir / SETTINGS).unlink(missing_ok=True)
            self.kubeconfig_path.unlink(missing_ok=True)
        elif self.source is not None:
            self._record()

    def status(self) -> Status:
        """Report whether this learner's lab is up and the cluster answers."""
        status = Status(
            backend=self.name,
            ready=False,
            kubeconfig=str(self.kubeconfig_path),
            lab_dir=str(self.dir),
            capabilities=self.capabilities.__dict__.copy(),
        )
        if not self.active or not self.kubeconfig_path.exists():
            status.detail = "not up (run `up --backend existing --kubeconfig FILE --context NAME`)"
            return status
        status.server, status.version, status.detail = probe_kubeconfig(self.kubeconfig_path)
        status.ready = status.version is not None
        return status

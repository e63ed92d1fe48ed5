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
from labsetup.errors import ClusterDown, InputError
from labsetup.paths import learner_name
from labsetup.progress import Progress, log_progress

KUBECONFIG = "existing.kubeconfig"
"""In the lab directory: the one named context, copied (not the embedded backend's `kubeconfig`)."""
SETTINGS = "backend.json"
"""In the lab directory: the backend choice and, here, the context, prefix and permissions."""
LEARNER_LABEL = "sa-lab/learner"
MANAGED_LABEL = "sa-lab/managed"
PREFIX_MAX = 20
"""Longest prefix (dash included): a lesson namespace `<prefix><lesson>-<5 chars>` stays under 63."""
_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_PATH_KEYS = ("certificate-authority", "client-certificate", "client-key", "tokenFile")


def default_prefix() -> str:
    """Return the learner's default prefix: the learner name, DNS-safe, plus a dash."""
    name = re.sub(r"[^a-z0-9-]", "-", learner_name().lower()).strip("-")[: PREFIX_MAX - 1] or "learner"
    return f"{name.rstrip('-')}-"


def check_prefix(prefix: str) -> str:
    """Return the prefix with its trailing dash, or raise InputError if names cannot start with it.

    The prefix starts every namespace and cluster-scoped object name, and (without the dash) is
    the value of the learner label, so it must be a lower-case DNS label.
    """
    stem = prefix[:-1] if prefix.endswith("-") else prefix
    if not _PREFIX.fullmatch(stem) or len(stem) + 1 > PREFIX_MAX:
        raise InputError(
            f"unable to use the prefix {prefix!r}: it must be lower-case letters, digits and dashes, "
            f"start and end with a letter or digit and be at most {PREFIX_MAX - 1} characters; "
            "try e.g. --prefix alice-"
        )
    return f"{stem}-"


def extract_context(source: Path, context: str) -> dict[str, Any]:
    """Return a kubeconfig holding only `context` from source, with file paths made absolute."""
    try:
        config = yaml.safe_load(source.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise InputError(
            f"unable to read kubeconfig {source}: {err}; try a file from `kubectl config view --raw`"
        ) from err
    if not isinstance(config, dict) or not isinstance(config.get("contexts") or [], list):
        raise InputError(f"unable to use {source}: it is not a kubeconfig (no list of contexts)")
    contexts = {
        str(c.get("name")): c.get("context") or {}
        for c in config.get("contexts") or []
        if isinstance(c, dict)
    }
    if context not in contexts:
        raise InputError(
            f"unable to use context {context!r}: {source} has no such context; "
            f"it has: {', '.join(contexts) or 'none'}"
        )
    ctx = contexts[context]
    cluster = _named(config, "clusters", ctx.get("cluster"), "cluster")
    user = _named(config, "users", ctx.get("user"), "user")
    if cluster is None or user is None:
        raise InputError(
            f"unable to use context {context!r}: it names a cluster or user that {source} does not define"
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


def _named(config: dict[str, Any], section: str, name: Any, body: str) -> dict[str, Any] | None:
    """Return the entry called `name` in a kubeconfig section if it has its body (cluster, user)."""
    for entry in config.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name and isinstance(entry.get(body), dict):
            return entry
    return None


def probe_kubeconfig(path: Path) -> tuple[str | None, str | None, str]:
    """Return (server, version, detail) for a kubeconfig's cluster; version is None if unreachable."""
    from kubernetes import client, config

    conf = client.Configuration()
    try:
        config.load_kube_config(config_file=str(path), client_configuration=conf, persist_config=False)
    except Exception as err:  # noqa: BLE001 - any unreadable kubeconfig is a status, not a crash
        return None, None, f"unusable kubeconfig: {err}"
    conf.retries = 0  # a status answers at once: no urllib3 retries (and no warnings) when down
    api = client.ApiClient(conf)
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
        self.prefix = check_prefix(
            prefix if prefix is not None else recorded.get("prefix") or default_prefix()
        )
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
        return self.dir / KUBECONFIG

    def up(self) -> Status:
        """Copy the chosen context into the lab's kubeconfig, check the cluster answers, record the choice."""
        if self.source is None or not self.context:
            raise InputError(
                "unable to use the existing backend: it needs --kubeconfig FILE and --context NAME "
                "(nothing is read from ~/.kube/config unless you name it); try "
                "`python -m labsetup up --backend existing --kubeconfig FILE --context NAME`"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.kubeconfig_path, yaml.safe_dump(extract_context(self.source, self.context)), 0o600)
        server, version, detail = probe_kubeconfig(self.kubeconfig_path)
        if version is None:
            raise ClusterDown(
                f"unable to reach the cluster of context {self.context!r} in {self.source} ({server}): "
                f"{detail}; try `kubectl --kubeconfig {self.source} --context {self.context} version`"
            )
        self.pods_run = self._has_ready_nodes()
        self.active = True
        self._record()
        return self.status()

    def _api(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig_path), persist_config=False)

    def _has_ready_nodes(self) -> bool:
        from kubernetes import client

        api = self._api()
        try:
            nodes = client.CoreV1Api(api).list_node().items
        except Exception:  # noqa: BLE001 - no right to list nodes: assume pods cannot be shown
            return False
        finally:
            api.close()
        return any(c.type == "Ready" and c.status == "True" for n in nodes for c in n.status.conditions or [])

    @property
    def selector(self) -> str:
        """The label selector for exactly this learner's objects (lab label and learner label)."""
        return ",".join(f"{k}={v}" for k, v in self.labels.items())

    def down(self, purge: bool = False) -> None:
        """Delete what this learner created (selected by its labels) and nothing else.

        ClusterRoleBindings, ClusterRoles, then namespaces (their contents go with them). The
        cluster keeps running. purge also forgets the settings and the lab's kubeconfig.
        """
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        if self.kubeconfig_path.exists():
            api = self._api()
            core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
            kinds = [
                (rbac.list_cluster_role_binding, rbac.delete_cluster_role_binding),
                (rbac.list_cluster_role, rbac.delete_cluster_role),
                (core.list_namespace, core.delete_namespace),
            ]
            try:
                for list_them, delete in kinds:
                    for obj in list_them(label_selector=self.selector).items:
                        self._delete(delete, obj.metadata.name)
            except ApiException as err:
                if err.status != 403 or self.allow_cluster_writes:
                    raise
                # not allowed to list cluster-scoped objects: the lab made none (writes were refused)
                for ns in core.list_namespace(label_selector=self.selector).items:
                    self._delete(core.delete_namespace, ns.metadata.name)
            finally:
                api.close()
        self.active = False
        if purge:
            (self.dir / SETTINGS).unlink(missing_ok=True)
            self.kubeconfig_path.unlink(missing_ok=True)
        elif self.source is not None:
            self._record()

    @staticmethod
    def _delete(delete: Any, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            delete(name)
        except ApiException as err:
            if err.status != 404:  # gone already (another `down`, or the namespace controller)
                raise

    def status(self) -> Status:
        """Report whether this learner's lab is up and the cluster answers."""
        status = Status(
            backend=self.name,
            ready=False,
            kubeconfig=str(self.kubeconfig_path),
            lab_dir=str(self.dir),
            capabilities=self.capabilities.__dict__.copy(),
            settings={
                "source_kubeconfig": str(self.source) if self.source else None,
                "context": self.context,
                "prefix": self.prefix,
                "labels": self.labels,
                "allow_cluster_writes": self.allow_cluster_writes,
            },
        )
        if not self.active or not self.kubeconfig_path.exists():
            status.detail = "not up (run `up --backend existing --kubeconfig FILE --context NAME`)"
            return status
        status.server, status.version, status.detail = probe_kubeconfig(self.kubeconfig_path)
        status.ready = status.version is not None
        return status

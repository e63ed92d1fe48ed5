"""`connect()`: the one call a notebook makes to get a ready lab and its API clients."""

from __future__ import annotations

import os
import time
import uuid
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labsetup.cluster import Backend, get_backend
from labsetup.errors import StartTimeout
from labsetup.progress import Progress, StderrProgress

if TYPE_CHECKING:
    from kubernetes import client as k8s


LESSON_LABEL = "sa-lab/lesson"
"""Label naming the lesson a namespace was made for (used to clean up earlier runs)."""


class Lab:
    """A usable lab cluster: its backend, its kubeconfig and lazily made API clients."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.kubeconfig = backend.kubeconfig_path

    @property
    def capabilities(self) -> Any:
        """What this backend can show (ask this, never the backend's name)."""
        return self.backend.capabilities

    @cached_property
    def api_client(self) -> k8s.ApiClient:
        """An admin API client built from the lab's own kubeconfig only."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig), persist_config=False)

    @cached_property
    def core(self) -> k8s.CoreV1Api:
        """CoreV1Api on the admin client."""
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    @cached_property
    def rbac(self) -> k8s.RbacAuthorizationV1Api:
        """RbacAuthorizationV1Api on the admin client."""
        from kubernetes import client

        return client.RbacAuthorizationV1Api(self.api_client)

    @cached_property
    def apps(self) -> k8s.AppsV1Api:
        """AppsV1Api on the admin client."""
        from kubernetes import client

        return client.AppsV1Api(self.api_client)

    @property
    def prefix(self) -> str:
        """Prefix for every namespace and cluster-scoped object this learner creates ('' on a private lab)."""
        return str(getattr(self.backend, "prefix", ""))

    @property
    def labels(self) -> dict[str, str]:
        """Labels stamped on every object the lab creates, so `down` can find exactly them."""
        return dict(getattr(self.backend, "labels", {"sa-lab/managed": "true"}))

    def cluster_name(self, name: str) -> str:
        """Return the real name for a cluster-scoped object the lesson calls `name`."""
        return f"{self.prefix}{name}"

    def check_cluster_write(self, what: str) -> None:
        """Raise if this backend does not allow the lab to create cluster-scoped objects."""
        if not self.capabilities.cluster_scoped_writes:
            from labsetup.errors import InputError

            raise InputError(
                f"refusing to create {what}: cluster-scoped writes are not allowed on this backend; "
                "rerun `up` with --allow-cluster-writes if you may change this cluster"
            )

    @property
    def server(self) -> str:
        """The API server URL."""
        return str(self.api_client.configuration.host)

    def version(self) -> str:
        """Return the API server's gitVersion, e.g. v1.37.2."""
        from kubernetes import client

        return str(client.VersionApi(self.api_client).get_code().git_version)

    def token_client(self, token: str) -> k8s.ApiClient:
        """Return an API client that authenticates with a bearer token instead of the admin cert."""
        from kubernetes import client

        admin = self.api_client.configuration
        conf = client.Configuration()
        conf.host = admin.host
        conf.ssl_ca_cert = admin.ssl_ca_cert
        conf.api_key = {"authorization": f"Bearer {token}"}
        return client.ApiClient(conf)

    def namespace(self, name: str, reset: bool = True, timeout: float = 30.0) -> str:
        """Create a namespace for lesson `name` and return its real name once it is usable.

        With reset (the default), earlier namespaces of the same lesson are deleted (without
        waiting: the namespace controller takes about 5 s) and a fresh one named
        `<prefix><name>-<5 random characters>` is made, so a re-run starts clean. Without reset,
        the namespace is exactly `<prefix><name>`, created if absent. Usable means its `default`
        ServiceAccount and `kube-root-ca.crt` ConfigMap exist (the controller manager creates both
        a moment after the namespace).
        """
        from kubernetes.client import V1Namespace, V1ObjectMeta
        from kubernetes.client.exceptions import ApiException

        base = self.cluster_name(name)
        deadline = time.monotonic() + timeout
        name = base
        if reset:
            for old in self.core.list_namespace(label_selector=f"{LESSON_LABEL}={base}").items:
                if old.status.phase != "Terminating":
                    self.core.delete_namespace(old.metadata.name)
            name = f"{base}-{uuid.uuid4().hex[:5]}"
        meta = V1ObjectMeta(name=name, labels={**self.labels, LESSON_LABEL: base})
        try:
            self.core.create_namespace(V1Namespace(metadata=meta))
        except ApiException as err:
            if err.status != 409:
                raise
        while time.monotonic() < deadline:
            try:
                self.core.read_namespaced_service_account("default", name)
                self.core.read_namespaced_config_map("kube-root-ca.crt", name)
                return name
            except ApiException as err:
                if err.status != 404:
                    raise
            time.sleep(0.05)
        raise StartTimeout(
            f"namespace {name}: default ServiceAccount or kube-root-ca.crt missing after {timeout}s"
        )

    def delete_namespace(self, name: str, timeout: float = 60.0) -> None:
        """Delete namespace `name` if it exists and wait until it is gone."""
        from kubernetes.client.exceptions import ApiException

        try:
            self.core.delete_namespace(name, grace_period_seconds=0)
        except ApiException as err:
            if err.status == 404:
                return
            raise
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.core.read_namespace(name)
            except ApiException as err:
                if err.status == 404:
                    return
                raise
            time.sleep(0.1)
        raise StartTimeout(
            f"namespace {name} still terminating after {timeout}s; see the controller-manager log"
        )


def connect(
    backend: str | None = None, directory: Path | None = None, progress: Progress | None = None
) -> Lab:
    """Start the lab if needed, wait until usable, point KUBECONFIG at it and return a Lab.

    The backend is `backend`, else $SA_LAB_BACKEND, else embedded. Only the lab's own kubeconfig
    is read; the user's ~/.kube/config is never touched.
    """
    chosen = get_backend(backend, directory, progress or StderrProgress())
    status = chosen.status()
    if not status.ready:
        chosen.up()
    os.environ["KUBECONFIG"] = str(chosen.kubeconfig_path)
    return Lab(chosen)

"""The embedded backend: the real control plane as local processes on 127.0.0.1.

etcd + kube-apiserver + kube-controller-manager, built at the pinned versions, with state in
one lab directory:

    <lab_dir>/pki/        CA, serving and client certificates, SA signing key (keys 0600)
    <lab_dir>/etcd/       etcd data (kept across down/up: a warm start)
    <lab_dir>/logs/       one log file per process
    <lab_dir>/run/        pid files
    <lab_dir>/state.json  backend, ports, binaries
    <lab_dir>/kubeconfig  the lab's admin kubeconfig (0600)

By default there is no kubelet, so pods are admitted (with their service account and token
volume) but never run; tokens are minted by the same TokenRequest API the kubelet uses. With the
opt-in node (`up --with-node` or SA_LAB_NODE=1; Linux and root, see node.py) pods really run,
under <lab_dir>/node/, and `capabilities` reports pods_run and exec while it does.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labsetup._files import write_atomic
from labsetup.cluster import kubeconfig, pki, ports
from labsetup.cluster.base import Capabilities, Status
from labsetup.cluster.binaries import CONTROL_PLANE, NODE, Binaries, ensure
from labsetup.cluster.node import NODE_ENV, Node
from labsetup.cluster.node import unavailable as node_unavailable
from labsetup.cluster.probe import Probe
from labsetup.cluster.process import ManagedProcess, stop_all, wait_for
from labsetup.errors import BackendUnavailable
from labsetup.progress import Progress, log_progress

ISSUER = "https://kubernetes.default.svc.cluster.local"
MAX_TOKEN_EXPIRATION = "48h"
"""The cap the lessons demonstrate; kind-config.yaml sets the same flag."""
SERVICE_CIDR = "10.0.0.0/24"
NODE_CONTROLLERS = ("node-lifecycle-controller",)
"""Added with the node: it removes the node's not-ready taint once the kubelet reports Ready."""
CONTROLLERS = (
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "namespace-controller",
    "garbage-collector-controller",
    "clusterrole-aggregation-controller",
    "deployment-controller",
    "replicaset-controller",
)
PORT_NAMES = ("etcd", "etcd_peer", "apiserver", "kcm")
API_PORT_ENV = "SA_LAB_API_PORT"
"""Pin the API server's port (default: a free one, kept across restarts while it stays free)."""
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager")
GOGC = "50"
"""Go GC target for the control plane: 50 cuts idle RSS by about 40 MB (mostly the API server's
heap headroom) at no measurable cost to start-up; the default is 100."""


class EmbeddedBackend:
    """The real Kubernetes control plane, run as local processes."""

    name = "embedded"

    def __init__(
        self,
        lab_dir: Path,
        progress: Progress = log_progress,
        start_timeout: float = 60.0,
        with_node: bool | None = None,
    ) -> None:
        self.dir = lab_dir
        self.pki = pki.Pki(lab_dir / "pki")
        self.progress = progress
        self.start_timeout = start_timeout
        self.node = Node(lab_dir, progress)
        if with_node is None:
            with_node = bool(self.read_state().get("node")) or os.environ.get(NODE_ENV) == "1"
        self.with_node = with_node

    @property
    def capabilities(self) -> Capabilities:
        """Pods run (and exec works) only while the opt-in node runs."""
        pods = self.node.running()
        return Capabilities(
            pods_run=pods, exec=pods, cluster_scoped_writes=True, max_token_expiration=MAX_TOKEN_EXPIRATION
        )

    # ----- files -------------------------------------------------------------------------------
    @property
    def kubeconfig_path(self) -> Path:
        """The lab's admin kubeconfig."""
        return self.dir / "kubeconfig"

    @property
    def state_file(self) -> Path:
        """Where ports and binaries of the last start are recorded."""
        return self.dir / "state.json"

    def read_state(self) -> dict[str, Any]:
        """Return the recorded state, or {} if none (or unreadable)."""
        try:
            return dict(json.loads(self.state_file.read_text()))
        except (OSError, ValueError):
            return {}

    def _processes(self, argvs: dict[str, list[str]] | None = None) -> list[ManagedProcess]:
        argvs = argvs or {}
        env = dict(os.environ, GOGC=GOGC)
        return [
            ManagedProcess(
                n, argvs.get(n, []), self.dir / "logs" / f"{n}.log", self.dir / "run" / f"{n}.pid", env
            )
            for n in COMPONENTS
        ]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    # ----- lifecycle -----------------------------------------------------------------------------
    def up(self, allow_build: bool = True) -> Status:
        """Start the control plane unless it already runs, and wait until it is usable."""
        with self._locked():
            current = self.status()
            if current.ready and self.with_node == self.node.running():
                return current
            if self.with_node and (reason := node_unavailable()):
                raise BackendUnavailable(
                    f"unable to start the lab with a node: {reason}; without --with-node it runs as before",
                )
            procs = self._processes()
            if any(p.running() for p in procs) or any(p.running() for p in self.node.processes()):
                self.progress("stopping a partly running (or differently configured) lab first", None)
                self._stop_all()
            names = CONTROL_PLANE + (NODE if self.with_node else ())
            binaries = ensure(self.progress, names, allow_build)
            return self._start(binaries)

    def _choose_ports(self) -> dict[str, int]:
        old = self.read_state().get("ports", {})
        pinned = os.environ.get(API_PORT_ENV)
        if pinned:
            ports.require_free(int(pinned), "kube-apiserver")
        chosen = dict(
            zip(PORT_NAMES, ports.pick(len(PORT_NAMES), [old.get(n, 0) for n in PORT_NAMES]), strict=True)
        )
        if pinned:
            chosen["apiserver"] = int(pinned)
        return chosen

    def _start(self, binaries: Binaries) -> Status:
        """Start etcd and the API server, then the controller manager once the API server is healthy.

        The controller manager checks the API server's /healthz once at start and then only every
        second, so starting it the moment /healthz passes saves up to a second.
        """
        started = time.monotonic()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        if not self.pki.exists():
            self.progress("creating certificates and keys", None)
            pki.create(self.pki.root)
        if self.with_node:
            self.node.make_pki(self.pki)
        port = self._choose_ports()
        server = f"https://127.0.0.1:{port['apiserver']}"
        kubeconfig.write(
            self.kubeconfig_path, server, self.pki.ca_crt, self.pki.admin_crt, self.pki.admin_key, "admin"
        )
        kubeconfig.write(
            self.dir / "kcm.kubeconfig",
            server,
            self.pki.ca_crt,
            self.pki.kcm_crt,
            self.pki.kcm_key,
            "system:kube-controller-manager",
        )
        procs = self._processes(self._argvs(binaries, port))
        write_atomic(
            self.state_file,
            json.dumps(
                {
                    "backend": self.name,
                    "ports": port,
                    "server": server,
                    "binaries": str(binaries.directory),
                    "node": self.with_node,
                },
                indent=2,
            ),
            0o600,
        )
        self.progress("starting etcd and kube-apiserver", None)
        api = self._admin_probe(port["apiserver"])
        try:
            for proc in procs[:2]:
                proc.start()
            wait_for(
                {"kube-apiserver /healthz": lambda: api.get("/healthz")[0] == 200},
                procs[:2],
                self._deadline(),
            )
            self.progress("starting kube-controller-manager", None)
            procs[2].start()
            self._wait_usable(api, procs, port)
            if self.with_node:
                self.node.start(binaries, self.pki, server, api, self._deadline())
        except BaseException:
            self._stop_all()
            raise
        finally:
            api.close()
        self.progress(f"cluster usable after {time.monotonic() - started:.1f}s at {server}", 1.0)
        return self.status()

    def _deadline(self) -> float:
        return time.monotonic() + self.start_timeout

    def _argvs(self, binaries: Binaries, port: dict[str, int]) -> dict[str, list[str]]:
        d, p = self.dir, self.pki
        etcd_url = f"http://127.0.0.1:{port['etcd']}"
        peer_url = f"http://127.0.0.1:{port['etcd_peer']}"
        return {
            "etcd": [
                str(binaries["etcd"]),
                "--name=lab",
                f"--data-dir={d / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=lab={peer_url}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
            "kube-apiserver": [
                str(binaries["kube-apiserver"]),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port['apiserver']}",
                "--advertise-address=127.0.0.1",
                "--endpoint-reconciler-type=none",
                f"--tls-cert-file={p.apiserver_crt}",
                f"--tls-private-key-file={p.apiserver_key}",
                f"--client-ca-file={p.ca_crt}",
                f"--cert-dir={d / 'apiserver-certs'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--service-account-issuer={ISSUER}",
                f"--service-account-signing-key-file={p.sa_key}",
                f"--service-account-key-file={p.sa_pub}",
                f"--service-account-max-token-expiration={MAX_TOKEN_EXPIRATION}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                "--profiling=false",
                "--v=1",
                *(Node.apiserver_flags(p) if self.with_node else []),
            ],
            "kube-controller-manager": [
                str(binaries["kube-controller-manager"]),
                f"--kubeconfig={d / 'kcm.kubeconfig'}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port['kcm']}",
                f"--cert-dir={d / 'kcm-certs'}",
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={p.sa_key}",
                f"--root-ca-file={p.ca_crt}",
                f"--controllers={','.join(CONTROLLERS + (NODE_CONTROLLERS if self.with_node else ()))}",
                "--profiling=false",
                "--v=1",
            ],
        }

    def _admin_probe(self, port: int) -> Probe:
        return Probe(port, self.pki.ca_crt, self.pki.admin_crt, self.pki.admin_key, timeout=2.0)

    def _wait_usable(self, api: Probe, procs: list[ManagedProcess], port: dict[str, int]) -> None:
        """Wait until a lesson can use the cluster.

        That is: /readyz with credentials, the controller manager healthy, and in a fresh
        namespace the `default` ServiceAccount and a `kube-root-ca.crt` holding this lab's CA
        (both made by the controller manager). The probe namespace is deleted afterwards.
        """
        kcm = Probe(port["kcm"], None, timeout=1.0)
        ca = self.pki.ca_crt.read_text()
        probe_ns = f"sa-lab-readiness-{uuid.uuid4().hex[:6]}"
        base = f"/api/v1/namespaces/{probe_ns}"

        def root_ca_published() -> bool:
            found = api.get_json(f"{base}/configmaps/kube-root-ca.crt")
            return bool(found) and found.get("data", {}).get("ca.crt") == ca

        try:
            wait_for(
                {
                    "kube-apiserver /readyz": lambda: api.get("/readyz")[0] == 200,
                    "kube-controller-manager /healthz": lambda: kcm.get("/healthz")[0] == 200,
                    f"namespace {probe_ns}": lambda: (
                        api.post(
                            "/api/v1/namespaces",
                            {
                                "apiVersion": "v1",
                                "kind": "Namespace",
                                "metadata": {"name": probe_ns, "labels": {"sa-lab/managed": "true"}},
                            },
                        )[0]
                        in (201, 409)
                    ),
                    f"ServiceAccount {probe_ns}/default": lambda: (
                        api.get(f"{base}/serviceaccounts/default")[0] == 200
                    ),
                    f"ConfigMap {probe_ns}/kube-root-ca.crt with this lab's CA": root_ca_published,
                },
                procs,
                self._deadline(),
                where=self.dir / "logs",
            )
        finally:
            api.delete(base)
            kcm.close()

    def down(self, purge: bool = False) -> None:
        """Stop every lab process (after a crash too) and wait until they have exited.

        With purge, also delete the lab directory (PKI, etcd data, logs): the next `up` is cold.
        """
        with self._locked():
            for problem in self._stop_all():
                self.progress(problem, None)
            if purge:
                self.node.reset_state()
                shutil.rmtree(self.dir / "etcd", ignore_errors=True)
                shutil.rmtree(self.pki.root, ignore_errors=True)
                for name in ("state.json", "kubeconfig", "kcm.kubeconfig"):
                    (self.dir / name).unlink(missing_ok=True)

    def _stop_all(self) -> list[str]:
        """Stop the node (if any) first, then the control plane; return what went wrong."""
        problems = self.node.stop() if self.node.dir.exists() else []
        return problems + stop_all(list(reversed(self._processes())))

    def status(self) -> Status:
        """Report processes, readiness and version without changing anything."""
        state = self.read_state()
        procs = {p.name: p.recorded_pid() for p in self._processes()}
        node_procs = (
            {p.name: p.recorded_pid() for p in self.node.processes()} if self.node.dir.exists() else {}
        )
        status = Status(
            backend=self.name,
            ready=False,
            kubeconfig=str(self.kubeconfig_path),
            server=state.get("server"),
            binaries=state.get("binaries"),
            lab_dir=str(self.dir),
            processes={
                n: {"pid": pid, "running": pid is not None} for n, pid in (procs | node_procs).items()
            },
            capabilities=self.capabilities.__dict__.copy(),
            node=bool(node_procs) and all(node_procs.values()),
        )
        if not all(procs.values()):
            down = [n for n, pid in procs.items() if pid is None]
            status.detail = "not running" if len(down) == len(procs) else f"not running: {', '.join(down)}"
            return status
        probe = self._admin_probe(state["ports"]["apiserver"])
        try:
            ready = probe.get("/readyz")[0] == 200
            version = probe.get_json("/version") if ready else None
        finally:
            probe.close()
        status.ready = ready
        status.version = version.get("gitVersion") if version else None
        status.detail = "ready" if ready else "processes running, API server not ready"
        return status

"""The embedded backend's opt-in node: containerd + runc + kubelet + kube-scheduler, no Docker.

Linux and root only. Processes, certificates and data live under `<lab_dir>/node`; sockets under
/run/sa-lab/<id> (short paths: unix sockets are limited to 108 bytes). The kubelet serves on
127.0.0.1 only, refuses anonymous callers, and is named `localhost`, so the API server reaches it
for exec and logs through the node's Hostname address (the kubelet refuses a loopback node IP,
so its InternalIP stays the host's own address, where nothing of the node listens). The pods'
bridge gets no IPv4 address and pods get no default route, so a pod cannot call the API server
(lessons use its token from the notebook instead); the kubelet leaves the host's iptables alone.
What the node must create outside the lab directory is listed, and removed again, in node_host.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

import yaml
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from labsetup._files import write_atomic
from labsetup.cluster import images, kubeconfig, node_config, node_host, pki, ports
from labsetup.cluster.binaries import Binaries
from labsetup.cluster.node_config import BRIDGE, CNI_BIN, NETWORK, NODE_NAME, RUNC
from labsetup.cluster.probe import Probe
from labsetup.cluster.process import ManagedProcess, stop_all, wait_for
from labsetup.errors import BackendUnavailable, CommandError
from labsetup.progress import Progress, log_progress

CONTAINERD_VERSION = "v2.4.2"
"""Built from tools/containerd (github.com/containerd/containerd/v2, CGO off)."""
OWNER_FILE = Path("/run/sa-lab/node-owner")
"""Which lab's node runs on this host (one at a time)."""
NODE_ENV = "SA_LAB_NODE"
"""Set to 1 to have `connect()` start the embedded backend with its node."""
DEBIAN_PACKAGES = "runc containernetworking-plugins busybox-static"


def unavailable() -> str | None:
    """Return why a node cannot run here, or None when it can."""
    if platform.system() != "Linux":
        return "the node needs Linux"
    if os.geteuid() != 0:
        return "the node needs root (the kubelet and runc manage mounts, cgroups and network namespaces)"
    missing = [
        str(p)
        for p in (RUNC, CNI_BIN / "bridge", CNI_BIN / "host-local", CNI_BIN / "loopback", images.BUSYBOX)
        if not p.exists()
    ]
    if missing:
        return f"missing {', '.join(missing)}: apt-get install {DEBIAN_PACKAGES}"
    return None


class Node:
    """The node's files, certificates and processes for one lab directory."""

    def __init__(self, lab_dir: Path, progress: Progress = log_progress) -> None:
        self.lab_dir = lab_dir
        self.dir = lab_dir / "node"
        self.run = Path("/run/sa-lab") / hashlib.sha256(str(lab_dir).encode()).hexdigest()[:10]
        self.socket = self.run / "containerd.sock"
        self.progress = progress

    # ----- certificates and flags for the control plane --------------------------------------
    def make_pki(self, lab_pki: pki.Pki) -> None:
        """Issue the node's certificates from the lab CA (once)."""
        if (lab_pki.root / "kubelet-client.crt").exists():
            return
        ca_key = load_pem_private_key(lab_pki.ca_key.read_bytes(), None)
        ca_cert = pki.load_cert(lab_pki.ca_crt)
        issued = {
            "node": pki.issue(ca_key, ca_cert, f"system:node:{NODE_NAME}", org="system:nodes"),
            "kubelet-serving": pki.issue(
                ca_key, ca_cert, NODE_NAME, server=True, dns_names=("localhost",), ips=("127.0.0.1",)
            ),
            "scheduler": pki.issue(ca_key, ca_cert, "system:kube-scheduler"),
            "kubelet-client": pki.issue(
                ca_key, ca_cert, "kube-apiserver-kubelet-client", org="system:masters"
            ),
        }
        for stem, (key, cert) in issued.items():
            pki.write_pair(lab_pki, stem, key, cert)

    @staticmethod
    def apiserver_flags(lab_pki: pki.Pki) -> list[str]:
        """API server flags for reaching the kubelet (exec, logs) with its own client certificate."""
        return [
            f"--kubelet-client-certificate={lab_pki.kubelet_client_crt}",
            f"--kubelet-client-key={lab_pki.kubelet_client_key}",
            f"--kubelet-certificate-authority={lab_pki.ca_crt}",
            "--kubelet-preferred-address-types=Hostname",
        ]

    # ----- processes --------------------------------------------------------------------------
    def processes(
        self, argvs: dict[str, list[str]] | None = None, env: dict[str, str] | None = None
    ) -> list[ManagedProcess]:
        """The node's processes in start order (their pid files work after a crash too)."""
        argvs = argvs or {}
        return [
            ManagedProcess(
                n, argvs.get(n, []), self.dir / "logs" / f"{n}.log", self.dir / "run" / f"{n}.pid", env
            )
            for n in ("containerd", "kube-scheduler", "kubelet")
        ]

    def running(self) -> bool:
        """Tell whether the node's processes run."""
        return all(p.running() for p in self.processes())

    def _write_configs(self, lab_pki: pki.Pki, server: str, kubelet_port: int) -> None:
        d = self.dir
        for sub in ("containerd", "cni/net.d", "cni/ipam", "kubelet", "pod-logs", "volume-plugins", "images"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        self.run.mkdir(parents=True, exist_ok=True, mode=0o700)
        (d / "containerd" / "config.toml").write_text(node_config.containerd_toml(d, self.run, self.socket))
        (d / "cni" / "net.d" / "10-sa-lab.conflist").write_text(node_config.cni_conflist(d))
        kubeconfig.write(
            d / "kubelet.kubeconfig",
            server,
            lab_pki.ca_crt,
            lab_pki.node_crt,
            lab_pki.node_key,
            f"system:node:{NODE_NAME}",
        )
        kubeconfig.write(
            d / "scheduler.kubeconfig",
            server,
            lab_pki.ca_crt,
            lab_pki.scheduler_crt,
            lab_pki.scheduler_key,
            "system:kube-scheduler",
        )
        config = node_config.kubelet_config(d, self.socket, lab_pki, kubelet_port)
        write_atomic(d / "kubelet-config.yaml", yaml.safe_dump(config), 0o600)

    def _argvs(self, binaries: Binaries) -> dict[str, list[str]]:
        d = self.dir
        return {
            "containerd": [
                str(binaries["containerd"]),
                f"--config={d / 'containerd' / 'config.toml'}",
                "--log-level=warn",
            ],
            "kube-scheduler": [
                str(binaries["kube-scheduler"]),
                f"--kubeconfig={d / 'scheduler.kubeconfig'}",
                "--leader-elect=false",
                "--secure-port=0",
                "--v=1",
            ],
            "kubelet": [
                str(binaries["kubelet"]),
                f"--config={d / 'kubelet-config.yaml'}",
                f"--kubeconfig={d / 'kubelet.kubeconfig'}",
                f"--hostname-override={NODE_NAME}",
                f"--root-dir={d / 'kubelet'}",
                f"--cert-dir={d / 'kubelet-certs'}",
                "--v=1",
            ],
        }

    def _ctr(self, binaries: Binaries, *args: str) -> str:
        argv = [str(binaries["ctr"]), "--address", str(self.socket), "-n", "k8s.io", *args]
        run = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if run.returncode != 0:
            raise CommandError(argv, run.returncode, run.stdout + run.stderr)
        return run.stdout

    def start(self, binaries: Binaries, lab_pki: pki.Pki, server: str, api: Probe, deadline: float) -> None:
        """Start containerd, import the lesson images, start scheduler and kubelet; wait for a Ready node."""
        reason = unavailable()
        if reason:
            raise BackendUnavailable(
                f"unable to start the node: {reason}; the lab works without one (no --with-node)"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        node_host.save_sysctls(self.dir / "sysctl-before.json")
        if not (self.dir / "host-before.json").exists():
            write_atomic(self.dir / "host-before.json", json.dumps(node_host.snapshot()), 0o600)
        self._claim_host()
        if node_host.kubelet_answers():
            raise BackendUnavailable(
                f"a kubelet already runs on this host ({node_host.DEVICE_PLUGINS / 'kubelet.sock'} "
                "answers); the lab's node cannot run beside it: use the lab without --with-node"
            )
        self._write_configs(lab_pki, server, ports.pick(1)[0])
        procs = self.processes(
            self._argvs(binaries), dict(os.environ, PATH=f"{CNI_BIN}:{os.environ['PATH']}")
        )
        self.progress("starting containerd", None)
        procs[0].start()
        wait_for({"containerd socket": self.socket.exists}, procs[:1], deadline)
        wait_for(
            {
                "containerd answers": lambda: (
                    subprocess.run(
                        [str(binaries["ctr"]), "--address", str(self.socket), "version"], capture_output=True
                    ).returncode
                    == 0
                )
            },
            procs[:1],
            deadline,
        )
        for archive in images.lesson_images(self.dir / "images").values():
            self._ctr(binaries, "images", "import", "--all-platforms", str(archive))
        self.progress("starting kube-scheduler and kubelet", None)
        for proc in procs[1:]:
            proc.start()

        def node_ready() -> bool:
            node = api.get_json(f"/api/v1/nodes/{NODE_NAME}")
            if not node:
                return False
            ready = any(
                c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", [])
            )
            tainted = any(t["key"] == "node.kubernetes.io/not-ready" for t in node["spec"].get("taints", []))
            return ready and not tainted

        wait_for({f"node {NODE_NAME} Ready and untainted": node_ready}, procs, deadline, self.dir / "logs")

    def _claim_host(self) -> None:
        """Record this lab as the host's node owner; refuse if another lab's node still runs.

        One node per host: the CNI bridge, the kernel settings and the kubelet's fixed paths are
        host-wide.
        """
        owner = OWNER_FILE
        if owner.exists():
            other = Path(owner.read_text().strip())
            if other != self.lab_dir and Node(other).running():
                raise BackendUnavailable(
                    f"another lab's node runs on this host ({other}); stop it first: "
                    f"SA_LAB_DIR={other} python -m labsetup down"
                )
        owner.parent.mkdir(parents=True, exist_ok=True)
        owner.write_text(f"{self.lab_dir}\n")

    def stop(self) -> list[str]:
        """Stop the node, remove what it made outside the lab directory, restore kernel settings."""
        procs = self.processes()
        problems = stop_all([procs[2], procs[1]])
        ids = node_host.sandbox_ids(self.run, self.socket)
        node_host.kill_processes_using(f"-address {self.socket}")
        problems += stop_all([procs[0]])
        node_host.unmount_under(self.dir, self.run)
        shutil.rmtree(self.run, ignore_errors=True)
        if OWNER_FILE.exists() and OWNER_FILE.read_text().strip() == str(self.lab_dir):
            OWNER_FILE.unlink()
        before = self.dir / "host-before.json"
        if before.exists():
            node_host.clean(
                json.loads(before.read_text()),
                bridge=BRIDGE,
                network=NETWORK,
                lab_marker=str(self.dir),
                ids=ids,
                shim_sockets=node_host.shim_socket_names(self.socket, ids),
            )
            before.unlink()
        node_host.restore_sysctls(self.dir / "sysctl-before.json")
        return problems

    def reset_state(self) -> None:
        """Forget the node's runtime data (containers, images, kubelet state) after a stop."""
        for sub in ("containerd", "kubelet", "pod-logs", "cni"):
            shutil.rmtree(self.dir / sub, ignore_errors=True)

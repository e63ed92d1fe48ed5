"""Configuration files for the opt-in node: containerd, the CNI network, the kubelet.

Every path points into the lab directory (or the node's runtime directory under /run/sa-lab), so
nothing is written to the host's defaults (/var/lib/containerd, /etc/cni, /opt/containerd,
/run/nri, /var/lib/kubelet...). Settings that keep the host as it was are commented.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labsetup.cluster import images, pki

NODE_NAME = "localhost"
BRIDGE = "salab0"
NETWORK = "sa-lab"
POD_CIDR = "10.244.77.0/24"
RUNC = Path("/usr/sbin/runc")
CNI_BIN = Path("/usr/lib/cni")


def containerd_toml(d: Path, run_dir: Path, socket: Path) -> str:
    """Return the containerd config (version 3) for the node directory d.

    The opt directory moves into the lab (default /opt/containerd), NRI is off (default socket
    /run/nri/nri.sock), netns mounts go under the state directory (default /run/netns), and
    restrict_oom_score_adj lets runc start where root may not lower oom_score_adj. Version 3 on
    purpose: containerd 2.4 migrates it at start (one warning in its log); a version 4 file must
    name the sockets under [plugins."io.containerd.server.v1.grpc"] instead, else containerd
    serves on the host's /run/containerd/containerd.sock.
    """
    return f"""version = 3
root = "{d / "containerd" / "root"}"
state = "{run_dir / "state"}"
[grpc]
  address = "{socket}"
[ttrpc]
  address = "{socket}.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{d / "containerd" / "opt"}"
[plugins."io.containerd.nri.v1.nri"]
  disable = true
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "native"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "{images.PAUSE_IMAGE}"
[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["{CNI_BIN}"]
    conf_dir = "{d / "cni" / "net.d"}"
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "{RUNC}"
        Root = "{run_dir / "runc"}"
        SystemdCgroup = false
"""


def cni_conflist(d: Path) -> str:
    """Return the pods' bridge network: isolated (no host address on the bridge, so no ip_forward)."""
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": NETWORK,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    "isGateway": False,  # no host address on the bridge, no ip_forward
                    "ipMasq": False,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": POD_CIDR}]],
                        "dataDir": str(d / "cni" / "ipam"),
                    },
                },
                {"type": "loopback"},
            ],
        },
        indent=2,
    )


def kubelet_config(d: Path, socket: Path, lab_pki: pki.Pki, port: int) -> dict[str, Any]:
    """Return the KubeletConfiguration.

    It serves on 127.0.0.1 only and refuses anonymous callers (webhook authn/authz, the lab CA as
    client CA); it leaves the host's iptables alone; eviction thresholds are 1 % so a nearly full
    disk does not evict the lesson pods.
    """
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": "127.0.0.1",
        "port": port,
        "readOnlyPort": 0,
        "healthzPort": 0,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(lab_pki.ca_crt)},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(lab_pki.kubelet_serving_crt),
        "tlsPrivateKeyFile": str(lab_pki.kubelet_serving_key),
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{socket}",
        "podLogsDir": str(d / "pod-logs"),
        "volumePluginDir": str(d / "volume-plugins"),
        "evictionHard": {
            "memory.available": "1%",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "clusterDomain": "cluster.local",
        "resolvConf": "/etc/resolv.conf",
        "serializeImagePulls": False,
        "staticPodPath": "",
        "registerNode": True,
        "protectKernelDefaults": False,
        "makeIPTablesUtilChains": False,  # else KUBE-FIREWALL & co. stay in the host's iptables
    }

"""The opt-in node on the embedded cluster: real pods, their tokens from inside, and a clean host after."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from labsetup import manifests, pods, tokens
from labsetup.bench import run_notebooks
from labsetup.cluster import node_host, ports
from labsetup.cluster.embedded import EmbeddedBackend
from labsetup.cluster.node import BRIDGE, unavailable
from labsetup.cluster.process import alive
from labsetup.lab import Lab
from labsetup.token_verify import verify_with_cluster

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        platform.system() != "Linux" or os.geteuid() != 0 or unavailable() is not None,
        reason=f"the node needs Linux, root and Debian packages: {unavailable()}",
    ),
]
ROOT = Path(__file__).resolve().parents[2]


HOST_ROOTS = ("/run", "/opt", "/etc", "/var/lib", "/var/log", "/var/lib/kubelet", "/usr/libexec")
"""Top-level host directories where a kubelet or containerd left files in earlier versions of the node."""


def _run(*argv: str) -> str:
    if not shutil.which(argv[0]):
        return ""
    return subprocess.run(argv, capture_output=True, text=True).stdout


def _cmdlines() -> list[str]:
    found = []
    for p in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            found.append(p.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def host_view() -> dict[str, object]:
    return {
        **node_host.snapshot(),
        "sysctls": node_host.read_sysctls(),
        "ip_forward": Path("/proc/sys/net/ipv4/ip_forward").read_text(),
        "mounts": sorted(line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()),
        "roots": {d: sorted(os.listdir(d)) if os.path.isdir(d) else None for d in HOST_ROOTS},
        "firewall": _run("nft", "-s", "list", "ruleset") or _run("iptables-save"),
        "routes": _run("ip", "route"),
        "addresses": _run("ip", "-4", "-br", "addr"),
    }


@pytest.fixture(scope="module")
def before():
    return host_view()


@pytest.fixture(scope="module")
def node_lab(tmp_path_factory, before):
    backend = EmbeddedBackend(tmp_path_factory.mktemp("node") / "lab", with_node=True)
    backend.up()
    yield Lab(backend)
    backend.down()


def test_node_is_ready_and_capabilities_say_so(node_lab):
    status = node_lab.backend.status()
    assert status.ready and status.node
    assert node_lab.capabilities.pods_run and node_lab.capabilities.exec
    node = node_lab.core.read_node("localhost")
    assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
    assert not [t for t in node.spec.taints or [] if t.key == "node.kubernetes.io/not-ready"]


def test_token_read_inside_a_running_pod_names_the_pod_and_the_node(node_lab):
    ns = node_lab.namespace("node-token")
    manifests.apply(node_lab, "01-pod-no-serviceaccount", ns)
    pods.wait_running(node_lab, ns, "app")
    issued = tokens.pod_token(node_lab, ns, "app")
    assert issued.how.startswith(
        "read from /var/run/secrets/kubernetes.io/serviceaccount/token inside the pod"
    )
    claims = verify_with_cluster(node_lab, issued.token)
    k8s = claims["kubernetes.io"]
    assert k8s["pod"]["name"] == "app" and k8s["node"]["name"] == "localhost"
    assert claims["exp"] - claims["iat"] == 31_536_000 and k8s["warnafter"] - claims["iat"] == 3607


def test_automount_off_leaves_no_token_directory(node_lab):
    ns = node_lab.namespace("node-automount")
    manifests.apply(node_lab, "02-pod-automount-off", ns)
    pods.wait_running(node_lab, ns, "my-app")
    assert (
        pods.list_dir_in_pod(node_lab, ns, "my-app", "/var/run/secrets/kubernetes.io/serviceaccount") is None
    )
    assert pods.list_dir_in_pod(node_lab, ns, "my-app", "/var/run/secrets") is None


def test_custom_projected_token_is_at_its_path_with_its_audience(node_lab):
    ns = node_lab.namespace("node-projected")
    manifests.apply(node_lab, "03-projected-token-pod", ns)
    pods.wait_running(node_lab, ns, "my-app")
    assert pods.list_dir_in_pod(node_lab, ns, "my-app", "/var/run/secrets/tokens") == ["api-token"]
    token = pods.read_file_in_pod(node_lab, ns, "my-app", "/var/run/secrets/tokens/api-token")
    claims = verify_with_cluster(node_lab, token, audience="https://my-api.example.com")
    assert claims["aud"] == ["https://my-api.example.com"] and claims["exp"] - claims["iat"] == 3600


def test_kubelet_refuses_anonymous_callers_and_listens_on_loopback_only(node_lab):
    config = json.loads(
        json.dumps(
            __import__("yaml").safe_load((node_lab.backend.node.dir / "kubelet-config.yaml").read_text())
        )
    )
    assert config["address"] == "127.0.0.1" and config["authentication"]["anonymous"]["enabled"] is False
    context = ssl._create_unverified_context()  # noqa: S323 - no client certificate on purpose
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"https://127.0.0.1:{config['port']}/pods", context=context, timeout=5)
    assert refused.value.code == 401
    pids = {p["pid"] for p in node_lab.backend.status().processes.values() if p["pid"]}
    found = ports.listeners(pids)
    assert found and {f.address for f in found} == {"127.0.0.1"}


def test_notebooks_run_with_the_node(node_lab):
    run = run_notebooks(node_lab.backend.dir, "--keep-lab", learner="node-learner")
    assert run.returncode == 0, run.stdout[-4000:]


def assert_host_restored(before, backend):
    after = host_view()
    assert after["sysctls"] == before["sysctls"]
    for key in (
        "shim_sockets",
        "container_logs",
        "cni_networks",
        "cni_results",
        "device_plugins",
        "dirs",
        "roots",
        "ip_forward",
        "firewall",
        "routes",
        "addresses",
    ):
        assert after[key] == before[key], key
    assert BRIDGE not in after["links"]
    assert [c for c in after["cgroups"] if "kubepods" in c] == [
        c for c in before["cgroups"] if "kubepods" in c
    ]
    ours = [m for m in after["mounts"] if str(backend.dir) in m or "/run/sa-lab" in m]
    assert ours == []
    assert [c for c in _cmdlines() if str(backend.node.run) in c or str(backend.dir) in c] == []


def test_down_restores_the_host(node_lab, before):
    node_lab.backend.down()
    assert_host_restored(before, node_lab.backend)
    assert not node_lab.backend.status().node


def _shim_pid(backend: EmbeddedBackend) -> int:
    for p in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            argv = p.read_bytes().split(b"\0")
            if argv[0].endswith(b"containerd-shim-runc-v2") and str(backend.node.socket).encode() in argv:
                return int(p.parent.name)
    raise AssertionError("no shim runs for the pod")


@pytest.mark.parametrize("victim", ["kubelet", "containerd", "kube-scheduler", "shim", "all"])
def test_down_after_kill_9_of_a_node_process_cleans_the_host(tmp_path, before, victim):
    backend = EmbeddedBackend(tmp_path / "lab", with_node=True)
    try:
        backend.up()
        lab = Lab(backend)
        ns = lab.namespace("kill")
        manifests.apply(lab, "01-pod-no-serviceaccount", ns)
        pods.wait_running(lab, ns, "app")
        procs = backend.status().processes
        node_pids = [procs[n]["pid"] for n in ("containerd", "kube-scheduler", "kubelet")]
        if victim == "shim":
            victims = [_shim_pid(backend)]
        elif victim == "all":
            victims = [*node_pids, _shim_pid(backend)]
        else:
            victims = [procs[victim]["pid"]]
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        all_pids = [p["pid"] for p in procs.values() if p["pid"]]
    finally:
        backend.down()
    assert not any(alive(p) for p in all_pids)
    assert_host_restored(before, backend)

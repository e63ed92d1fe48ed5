"""Host safety for the opt-in node: save what the kubelet changes, and remove what the node made.

The kubelet rewrites six kernel settings at start; they are saved before the first start and
restored on `down`. Everything the node creates outside the lab directory (shim sockets under
/run/containerd/s, symlinks in /var/log/containers, the kubelet's device-plugin socket under
/var/lib/kubelet/device-plugins, the CNI bridge, CNI result caches, cgroups, mounts) is recorded
as "before" and removed on `down`, even after a kill -9: only entries that did not exist before
and that belong to this lab are touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Collection
from pathlib import Path

from labsetup._files import write_atomic

SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
"""Kernel settings the kubelet rewrites at start (under /proc/sys; its `setupKernelTunables`)."""
SHIM_SOCKETS = Path("/run/containerd/s")
CONTAINER_LOGS = Path("/var/log/containers")
CNI_CACHE = Path("/var/lib/cni")
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SYS = Path("/proc/sys")
NET_CLASS = Path("/sys/class/net")
DEVICE_PLUGINS = Path("/var/lib/kubelet/device-plugins")
"""Fixed in the kubelet (pluginapi.DevicePluginPath): --root-dir does not move it."""
FIXED_DIRS = (
    SHIM_SOCKETS,
    SHIM_SOCKETS.parent,
    CONTAINER_LOGS,
    CNI_CACHE / "results",
    CNI_CACHE / "networks",
    CNI_CACHE,
    Path("/var/log/pods"),
    DEVICE_PLUGINS,
    DEVICE_PLUGINS.parent,
    Path("/run/mount"),  # util-linux's (u)mount makes it for its utab lock
    Path("/run/sa-lab"),
)
"""Directories the node may create; removed again (when empty) if they did not exist before."""


def read_sysctls(root: Path = PROC_SYS) -> dict[str, str]:
    """Return the current values of the settings the kubelet rewrites."""
    return {name: (root / name).read_text().strip() for name in SYSCTLS if (root / name).exists()}


def save_sysctls(path: Path, root: Path = PROC_SYS) -> dict[str, str]:
    """Record the settings once (a saved file is never overwritten: it holds the values before any node)."""
    if path.exists():
        return dict(json.loads(path.read_text()))
    values = read_sysctls(root)
    write_atomic(path, json.dumps(values, indent=2), 0o600)
    return values


def restore_sysctls(path: Path, root: Path = PROC_SYS) -> dict[str, str]:
    """Write the saved settings back and forget them; return what was restored."""
    if not path.exists():
        return {}
    values = dict(json.loads(path.read_text()))
    for name, value in values.items():
        target = root / name
        if target.exists() and target.read_text().strip() != value:
            target.write_text(value + "\n")
    path.unlink()
    return values


def _listing(directory: Path) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def _cgroup_dirs() -> list[str]:
    found = []
    for controller in _listing(CGROUP_ROOT):
        found += [
            f"{controller}/{d}"
            for d in _listing(CGROUP_ROOT / controller)
            if (CGROUP_ROOT / controller / d).is_dir()
        ]
    return found


def snapshot() -> dict[str, list[str]]:
    """Record the fixed host paths the node may add to, before it starts."""
    return {
        "shim_sockets": _listing(SHIM_SOCKETS),
        "container_logs": _listing(CONTAINER_LOGS),
        "cni_networks": _listing(CNI_CACHE / "networks"),
        "cni_results": _listing(CNI_CACHE / "results"),
        "cgroups": _cgroup_dirs(),
        "device_plugins": _listing(DEVICE_PLUGINS),
        "links": _listing(NET_CLASS),
        "dirs": [str(d) for d in FIXED_DIRS if d.exists()],
    }


def kill_processes_using(marker: str) -> list[int]:
    """SIGKILL every process whose command line contains marker (this lab's shims and their containers)."""
    killed = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(proc.name), signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)
            killed.append(int(proc.name))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in killed):
        time.sleep(0.05)
    return killed


def kill_cgroup_members(tops: list[Path]) -> list[int]:
    """SIGKILL every process in the given cgroups and their children; wait until they are gone."""
    pids: set[int] = set()
    for top in tops:
        for procs in top.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                pids |= {int(x) for x in procs.read_text().split()}
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.05)
    return sorted(pids)


def unmount_under(*roots: Path) -> list[str]:
    """Lazily unmount every mount below the given directories, deepest first."""
    mounts = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if any(point == str(r) or point.startswith(f"{r}/") for r in roots):
            mounts.append(point)
    for point in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
    return mounts


def sandbox_ids(run_dir: Path, address: Path) -> set[str]:
    """Return the ids of the pod sandboxes (and containers) this lab's containerd ran.

    From its state directory (which outlives a kill -9) and from its running shims' command lines.
    """
    ids = set(_listing(run_dir / "state" / "io.containerd.grpc.v1.cri" / "sandboxes"))
    for ns_dir in ("runc", "state/io.containerd.runtime.v2.task"):
        for ns in _listing(run_dir / ns_dir):
            ids |= set(_listing(run_dir / ns_dir / ns))
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "-address" in argv and "-id" in argv and str(address) in argv:
            ids.add(argv[argv.index("-id") + 1])
    return ids


def shim_socket_names(address: Path, ids: Collection[str], namespace: str = "k8s.io") -> set[str]:
    """Names under /run/containerd/s of the shim sockets for these ids (containerd's own formula)."""
    names = set()
    for shim_id in ids:
        for path in (f"{address}/{namespace}/{shim_id}", f"{address}/{namespace}/{shim_id}/debug"):
            names.add(hashlib.sha256(path.encode()).hexdigest())
    return names


def _ours_in_cni_cache(name: str, network: str, ids: Collection[str]) -> bool:
    if name == network:  # host-local's directory (unless its dataDir is moved)
        return True
    for prefix, suffix in ((f"{network}-", "-eth0"), ("cni-loopback-", "-lo")):
        if name.startswith(prefix) and name.endswith(suffix):
            return name[len(prefix) : -len(suffix)] in ids
    return False


def clean(
    before: dict[str, list[str]],
    *,
    bridge: str,
    network: str,
    lab_marker: str,
    ids: Collection[str] = (),
    shim_sockets: Collection[str] = (),
) -> list[str]:
    """Remove what the node added outside the lab directory since `before`; return what went.

    Only entries that are new since `before` and are this lab's are removed: shim sockets named in
    shim_sockets, log symlinks into lab_marker, CNI caches of this network for these sandbox ids.
    """
    gone: list[str] = []
    for name in set(_listing(SHIM_SOCKETS)) - set(before.get("shim_sockets", [])):
        if name in shim_sockets:
            (SHIM_SOCKETS / name).unlink(missing_ok=True)
            gone.append(str(SHIM_SOCKETS / name))
    for name in set(_listing(CONTAINER_LOGS)) - set(before.get("container_logs", [])):
        link = CONTAINER_LOGS / name
        if link.is_symlink() and lab_marker in os.readlink(link):
            link.unlink()
            gone.append(str(link))
    for sub, key in (("networks", "cni_networks"), ("results", "cni_results")):
        for name in set(_listing(CNI_CACHE / sub)) - set(before.get(key, [])):
            if _ours_in_cni_cache(name, network, ids):
                path = CNI_CACHE / sub / name
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                gone.append(str(path))
    for name in set(_listing(DEVICE_PLUGINS)) - set(before.get("device_plugins", [])):
        if name.startswith("kubelet"):  # kubelet.sock, kubelet_internal_checkpoint
            (DEVICE_PLUGINS / name).unlink(missing_ok=True)
            gone.append(str(DEVICE_PLUGINS / name))
    if bridge in _listing(NET_CLASS) and bridge not in before.get("links", []):
        subprocess.run(["ip", "link", "delete", bridge], capture_output=True)
        gone.append(f"interface {bridge}")
    new_cgroups = set(_cgroup_dirs()) - set(before.get("cgroups", []))
    kubepods = sorted(e for e in new_cgroups if e.split("/", 1)[1].startswith("kubepods"))
    kill_cgroup_members([CGROUP_ROOT / e for e in kubepods])  # containers outlive a killed shim
    for entry in kubepods:
        top = CGROUP_ROOT / entry
        for path in sorted(
            (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
        ):
            with contextlib.suppress(OSError):
                path.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()
            gone.append(str(top))
    for directory in FIXED_DIRS:  # deepest first, as listed
        if str(directory) not in before.get("dirs", []):
            with contextlib.suppress(OSError):
                directory.rmdir()
                gone.append(str(directory))
    return gone


def kubelet_answers(sock: Path | None = None) -> bool:
    """Tell whether a kubelet serves the host's fixed device-plugin socket (so one runs already)."""
    sock = sock or DEVICE_PLUGINS / "kubelet.sock"
    if not sock.exists():
        return False
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(1.0)
        try:
            conn.connect(str(sock))
        except OSError:
            return False
    return True

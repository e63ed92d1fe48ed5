"""Cluster backends behind one interface (see `base.Backend`)."""

from __future__ import annotations

import os
from pathlib import Path

from labsetup.cluster.base import Backend, Capabilities, Status
from labsetup.errors import InputError
from labsetup.paths import lab_dir
from labsetup.progress import Progress, log_progress

BACKEND_ENV = "SA_LAB_BACKEND"
"""Environment variable that chooses the backend for notebooks: auto, embedded, kind or existing."""
BACKENDS = ("auto", "embedded", "kind", "existing")

__all__ = ["BACKENDS", "BACKEND_ENV", "Backend", "Capabilities", "Status", "get_backend", "resolve_name"]


def resolve_name(name: str | None = None) -> str:
    """Return the backend to use: the given name, else $SA_LAB_BACKEND, else auto (= embedded)."""
    chosen = (name or os.environ.get(BACKEND_ENV) or "auto").strip().lower()
    if chosen not in BACKENDS:
        raise InputError(f"unknown backend {chosen!r}; choose one of {', '.join(BACKENDS)}")
    return "embedded" if chosen == "auto" else chosen


def get_backend(
    name: str | None = None, directory: Path | None = None, progress: Progress = log_progress
) -> Backend:
    """Return the backend object for `name` (see resolve_name), with its state under `directory`."""
    chosen = resolve_name(name)
    where = directory or lab_dir()
    if chosen == "embedded":
        from labsetup.cluster.embedded import EmbeddedBackend

        return EmbeddedBackend(where, progress)
    raise InputError(f"the {chosen} backend is not available yet; use --backend embedded")

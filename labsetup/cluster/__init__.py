"""Cluster backends behind one interface (see `base.Backend`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from labsetup._files import write_atomic
from labsetup.cluster.base import Backend, Capabilities, Status
from labsetup.errors import InputError
from labsetup.paths import lab_dir
from labsetup.progress import Progress, log_progress

BACKEND_ENV = "SA_LAB_BACKEND"
"""Environment variable that chooses the backend for notebooks: auto, embedded, kind or existing."""
BACKENDS = ("auto", "embedded", "kind", "existing")

__all__ = [
    "BACKENDS",
    "BACKEND_ENV",
    "Backend",
    "Capabilities",
    "Status",
    "get_backend",
    "record_choice",
    "recorded_choice",
    "resolve_name",
]


CHOICE_FILE = "backend.json"
"""In the lab directory: the backend chosen at the last `up`, so later commands need no flags."""


def recorded_choice(directory: Path) -> str | None:
    """Return the backend recorded in a lab directory, if any."""
    try:
        return str(json.loads((directory / CHOICE_FILE).read_text())["backend"])
    except (OSError, ValueError, KeyError):
        return None


def record_choice(directory: Path, name: str) -> None:
    """Record the backend in use (the existing backend records its own settings in the same file)."""
    if name != recorded_choice(directory) and name != "existing":
        directory.mkdir(parents=True, exist_ok=True)
        write_atomic(directory / CHOICE_FILE, json.dumps({"backend": name}) + "\n", 0o600)


def resolve_name(name: str | None = None, directory: Path | None = None) -> str:
    """Return the backend to use: `name`, else $SA_LAB_BACKEND, else the lab's recorded choice, else embedded.

    `auto` (the default) means embedded unless the lab directory records another choice.
    """
    chosen = (name or os.environ.get(BACKEND_ENV) or "auto").strip().lower()
    if chosen not in BACKENDS:
        raise InputError(
            f"unable to choose the backend {chosen!r}: there is no such backend; "
            f"try one of {', '.join(BACKENDS)} (--backend or ${BACKEND_ENV})"
        )
    if chosen == "auto":
        return recorded_choice(directory or lab_dir()) or "embedded"
    return chosen


def get_backend(
    name: str | None = None, directory: Path | None = None, progress: Progress = log_progress, **options: Any
) -> Backend:
    """Return the backend object for `name` (see resolve_name), with its state under `directory`.

    `options` go to the backend: with_node (embedded); kubeconfig, context, prefix,
    allow_cluster_writes (existing).
    """
    where = directory or lab_dir()
    chosen = resolve_name(name, where)
    if chosen == "embedded":
        from labsetup.cluster.embedded import EmbeddedBackend

        return EmbeddedBackend(where, progress, **options)
    if chosen == "kind":
        from labsetup.cluster.kind import KindBackend

        if options:
            raise InputError(f"the kind backend takes no options ({', '.join(options)}); drop them")
        return KindBackend(where, progress)
    from labsetup.cluster.existing import ExistingBackend

    return ExistingBackend(where, progress, **options)

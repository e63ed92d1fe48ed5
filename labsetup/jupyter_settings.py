"""JupyterLab defaults for a clean learner experience, written into the lab's own virtualenv.

`python -m labsetup.jupyter_settings` writes `<venv>/share/jupyter/lab/settings/overrides.json`:
no news feed, no update check (both would also try to reach the internet), so the lab opens on
the lesson folder with no pop-ups. It only touches the virtualenv, never the user's settings.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

LEARNER_OVERRIDES: dict[str, Any] = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def overrides_path(prefix: Path | None = None) -> Path:
    """Return the app-level overrides file of the given (default: this) Python environment."""
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def write_overrides(path: Path, extra: dict[str, Any] | None = None) -> Path:
    """Merge the learner overrides (and `extra`) into the overrides file at path."""
    current: dict[str, Any] = {}
    if path.exists():
        current = json.loads(path.read_text() or "{}")
    for source in (LEARNER_OVERRIDES, extra or {}):
        for plugin, settings in source.items():
            current.setdefault(plugin, {}).update(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n")
    return path


if __name__ == "__main__":
    print(write_overrides(overrides_path()))

"""Progress reporting for long work (building binaries, starting the cluster).

Library code takes a `Progress` callable and never prints; the CLI and `connect()` pass
`stderr_progress`, which Jupyter shows under the cell and a terminal shows on one line.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

Progress = Callable[[str, float | None], None]
"""Called with a short step description and the fraction done (0..1), or None when unknown."""

log = logging.getLogger(__name__)


def log_progress(step: str, fraction: float | None = None) -> None:
    """Send progress to the logging system (the default: silent unless logging is configured)."""
    log.info("%s%s", step, "" if fraction is None else f" ({fraction:.0%})")


class StderrProgress:
    """Print progress to stderr with the elapsed time, throttled so a long build stays readable."""

    def __init__(self, min_interval: float = 2.0) -> None:
        self.start = time.monotonic()
        self.min_interval = min_interval
        self._last = (0.0, "")

    def __call__(self, step: str, fraction: float | None = None) -> None:
        """Print a line for a new unmeasured step, at the end, or every min_interval seconds."""
        now = time.monotonic()
        new_step = fraction is None and step != self._last[1]
        if not (new_step or fraction == 1.0 or now - self._last[0] >= self.min_interval):
            return
        self._last = (now, step)
        pct = "" if fraction is None else f" {fraction:4.0%}"
        print(f"[{now - self.start:6.1f}s]{pct} {step}", file=sys.stderr, flush=True)

"""Start a throwaway JupyterLab for browser tests, and drive Debian's Chromium with Playwright."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
# Settings for reliable automation only (the learner's own settings are not touched):
TEST_SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"}}


@dataclass
class Server:
    """A running JupyterLab: its URL, token, notebook folder and log."""

    url: str
    token: str
    root: Path
    log: Path

    def lab_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyterlab(work: Path, *, widgets: bool = True, learner: str = "browser") -> Iterator[Server]:
    """Run JupyterLab on 127.0.0.1 over a copy of notebooks/, with test-only config; stop it afterwards."""
    root = work / "notebooks"
    shutil.copytree(
        ROOT / "notebooks", root, ignore=shutil.ignore_patterns("src", "*.pyc", ".ipynb_checkpoints")
    )
    config = work / "config"
    settings = work / "settings"
    for name, value in TEST_SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    if not widgets:  # the broken case: the widget manager extension switched off for this server only
        (config / "labconfig").mkdir(parents=True)
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {WIDGETS_EXTENSION: True}})
        )
    config.mkdir(exist_ok=True)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(work / "runtime"),
        SA_LAB_LEARNER=learner,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    log = work / "jupyterlab.log"
    argv = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={work / 'workspaces'}",
    ] + (["--allow-root"] if os.geteuid() == 0 else [])
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", token, root, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{server.url}/api/status?token={token}", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start; see {log}:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


WIDGET_ERRORS = ("Error displaying widget", "Model not found", "model not found")


def widget_problems(page, timeout_ms: int = 20_000) -> list[str]:  # noqa: ANN001
    """Return what is wrong with the page's widgets: error texts anywhere, or a quiz that never rendered."""
    problems = []
    try:
        page.wait_for_selector(".lab-quiz", timeout=timeout_ms)
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError
        problems.append("the quiz widget did not render")
    text = page.inner_text("body")
    problems += [f"page shows {e!r}" for e in WIDGET_ERRORS if e in text]
    return problems


def run_all_cells(page) -> None:  # noqa: ANN001
    """Run every cell through JupyterLab's own menu, as a learner would."""
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.locator(".lm-Menu").get_by_text("Run All Cells", exact=True).click()


def wait_all_executed(page, timeout_ms: int) -> None:  # noqa: ANN001
    """Wait until every code cell shows an execution count (`[n]:`), i.e. ran to the end."""
    prompts = "[...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]"
    page.wait_for_function(
        f"() => {prompts}.length > 0 && {prompts}.every(p => /\\[\\d+\\]/.test(p.textContent))",
        timeout=timeout_ms,
    )

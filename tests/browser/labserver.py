"""Helpers for browser tests: a throwaway JupyterLab on 127.0.0.1, and what Chromium shows of it.

The server runs over a copy of notebooks/ (autosave never touches the repository) with a test-only
Jupyter config, data, runtime, workspace and user-settings directory. It still loads the app-level
`overrides.json` of this virtualenv (written by `python -m labsetup.jupyter_settings`), so the page
is configured exactly as the learner's `make lab`. Named `labserver` rather than `jupyter` so it
cannot shadow jupyter_core's `jupyter` module on sys.path.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium's own connections are refused by the closed network.
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
# User settings for reliable automation only: every cell stays in the DOM (no windowing).
TEST_SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"}}
# What ipywidgets' renderer shows when a widget cannot be displayed (jupyter-widgets renderer.ts).
WIDGET_ERRORS = ("Error displaying widget", "Model not found", "model not found")
# A widget's text/plain repr in an output means no widget renderer handled it.
_PLAIN_WIDGET = r"^\s*\w*(Widget|Box|Button|HTML)\("


@dataclass
class Server:
    """A running JupyterLab: address, token, process, notebook folder, runtime folder and log."""

    url: str
    token: str
    proc: subprocess.Popen[bytes]
    root: Path
    runtime: Path
    log: Path

    def lab_url(self, path: str) -> str:
        """Return the URL that opens path (relative to the root) in JupyterLab."""
        return f"{self.url}/lab/tree/{path}?token={self.token}"

    def api(self, path: str) -> Any:
        """GET a server REST endpoint (e.g. 'api/sessions') and return its JSON."""
        req = urllib.request.Request(f"{self.url}/{path}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)

    def kernel_processes(self) -> dict[int, list[str]]:
        """Return {pid: argv} of the kernels this server started (their connection file is in runtime)."""
        return {pid: argv for pid, argv in _processes().items() if any(str(self.runtime) in a for a in argv)}


def _processes() -> dict[int, list[str]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                found[int(entry.name)] = [a.decode(errors="replace") for a in argv if a]
    return found


def process_env(pid: int) -> dict[str, str]:
    """Return the environment a process was started with (Linux /proc)."""
    pairs = (Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")).split("\0")
    return dict(p.split("=", 1) for p in pairs if "=" in p)


def listening_addresses(pids: list[int]) -> set[tuple[str, int]]:
    """Return the (address, port) of every TCP socket the given processes listen on (Linux /proc)."""
    inodes: set[str] = set()
    for pid in pids:
        with suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    found = set()
    for table, width in (("tcp", 4), ("tcp6", 16)):
        with suppress(OSError):
            for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                    continue
                hex_addr, hex_port = fields[1].split(":")
                raw = bytes.fromhex(hex_addr)
                if sys.byteorder == "little":  # /proc prints each 32-bit word in host byte order
                    raw = b"".join(raw[i : i + 4][::-1] for i in range(0, width, 4))
                found.add(
                    (
                        socket.inet_ntop(socket.AF_INET if width == 4 else socket.AF_INET6, raw),
                        int(hex_port, 16),
                    )
                )
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen[bytes], runtime: Path) -> None:
    """Stop the server (it shuts its kernels down), then kill anything it left behind."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    for pid, argv in _processes().items():  # kernels run in sessions of their own
        if any(str(runtime) in a for a in argv):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@contextmanager
def jupyterlab(work: Path, *, widgets: bool = True, learner: str = "browser-test") -> Iterator[Server]:
    """Run JupyterLab on 127.0.0.1 over a copy of notebooks/, with test-only config; always stop it.

    Args:
        work: An empty directory for the copy, config, runtime files and the log (`jupyterlab.log`).
        widgets: If false, the ipywidgets lab extension is disabled for this server only.
        learner: SA_LAB_LEARNER for the kernels (whose quiz progress and option order are used).
    """
    root = work / "notebooks"
    shutil.copytree(
        ROOT / "notebooks", root, ignore=shutil.ignore_patterns("src", "*.pyc", ".ipynb_checkpoints")
    )
    config, settings, runtime = work / "config", work / "settings", work / "runtime"
    for name, value in TEST_SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    (config / "labconfig").mkdir(parents=True)
    if not widgets:  # the broken case: the widget manager switched off in this server's page config only
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {WIDGETS_EXTENSION: True}})
        )
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,  # SA_LAB_DIR comes from the test session (the root conftest sets it)
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_DATA_DIR=str(work / "data"),  # no user kernelspec can shadow the venv's python3
        JUPYTER_RUNTIME_DIR=str(runtime),
        SA_LAB_LEARNER=learner,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    env.pop("JUPYTER_PATH", None)
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
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", token, proc, root, runtime, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            with suppress(OSError):
                server.api("api/status")
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start; see {log}:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield server
    finally:
        _stop(proc, runtime)


def open_notebook(page: Page, server: Server, notebook: str, timeout_ms: int = 60_000) -> str:
    """Open a notebook and wait until its kernel is connected and idle; return the kernel's name."""
    page.goto(server.lab_url(notebook))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_ms)
    # The execution indicator already says "idle" while the toolbar still says "No Kernel": wait for both.
    handle = page.wait_for_function(
        """() => {
            const name = document.querySelector('.jp-NotebookPanel-toolbar .jp-KernelName');
            const state = document.querySelector('.jp-Notebook-ExecutionIndicator');
            const text = name && name.textContent.trim();
            return text && text !== 'No Kernel' && state && state.dataset.status === 'idle' && text;
        }""",
        timeout=timeout_ms,
    )
    return handle.json_value()


def _prompts(page: Page) -> list[str]:
    return [
        p.strip() for p in page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
    ]


def run_all_cells(page: Page, timeout_ms: int = 120_000) -> None:
    """Run every cell from the Run menu, as a learner would; wait until all ran, fail on an error."""
    assert not any(re.search(r"\d", p) for p in _prompts(page)), "the notebook was saved with outputs"
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.locator(".lm-Menu").get_by_text("Run All Cells", exact=True).click()
    # Done: every prompt numbered. Stopped: none queued ([*]), some ran, some never will (an error).
    page.wait_for_function(
        """() => {
            const ps = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
                .map(p => p.textContent);
            const ran = ps.filter(p => /\\[\\d+\\]/.test(p)).length;
            return ps.length > 0 && (ran === ps.length || (ran > 0 && !ps.some(p => p.includes('*'))));
        }""",
        timeout=timeout_ms,
    )
    prompts = _prompts(page)
    if not all(re.search(r"\[\d+\]", p) for p in prompts):
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        raise AssertionError(
            f"Run All stopped at an error (prompts {prompts}):\n"
            + "\n".join(errors.all_inner_texts())[-3000:]
        )


def widget_problems(page: Page, timeout_ms: int = 20_000) -> list[str]:
    """Return what is wrong with the notebook's widgets; [] when the quiz rendered and no error shows.

    Waits until the quiz renders, a widget error text shows, or a widget is shown as plain text (no
    renderer), at most timeout_ms.
    """
    try:
        page.wait_for_function(
            """([errors, plain]) => {
                if (document.querySelector('.lab-quiz')) return true;
                const text = document.body.innerText;
                if (errors.some(e => text.includes(e))) return true;
                return [...document.querySelectorAll(".jp-OutputArea-output[data-mime-type='text/plain']")]
                    .some(o => new RegExp(plain).test(o.textContent));
            }""",
            arg=[list(WIDGET_ERRORS), _PLAIN_WIDGET],
            timeout=timeout_ms,
        )
    except PlaywrightError:
        pass  # reported below
    problems = []
    if not page.locator(".lab-quiz").count():
        problems.append("the quiz widget did not render")
    plain = page.locator(".jp-OutputArea-output[data-mime-type='text/plain']").all_inner_texts()
    problems += [
        f"a widget shown as plain text: {t.strip()[:80]!r}" for t in plain if re.match(_PLAIN_WIDGET, t)
    ]
    text = page.inner_text("body")
    problems += [f"the page shows {e!r}" for e in WIDGET_ERRORS if e in text]
    return problems


def toasts(page: Page) -> list[str]:
    """Return the texts of the notification toasts on screen (news, update checks, errors)."""
    return [t.strip() for t in page.locator(".Toastify__toast").all_inner_texts()]


def save_artifacts(page: Page | None, server: Server | None, name: str) -> Path:
    """Keep screenshots (the window; the whole quiz, if any) and the server log in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    if page is not None:
        with suppress(PlaywrightError):
            page.screenshot(path=str(shot))
            quiz = page.locator(".lab-quiz")
            if quiz.count() and (box := quiz.bounding_box()) and (size := page.viewport_size):
                # the whole quiz is taller than the window: grow the window for this one picture
                page.set_viewport_size({"width": size["width"], "height": int(box["height"]) + 400})
                quiz.screenshot(path=str(ARTIFACTS / f"{name}-quiz.png"))
                page.set_viewport_size(size)
    if server is not None and server.log.exists():
        shutil.copyfile(server.log, ARTIFACTS / f"{name}-jupyterlab.log")
    return shot

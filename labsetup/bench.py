"""`python -m labsetup bench`: start-up time and memory of the embedded cluster, into BENCHMARKS.md.

With binaries cached, measures over N runs (median and spread):
- cold start: `up` on a fresh lab directory (new PKI, empty etcd) until usable;
- warm start: `up` on a lab directory that was brought down cleanly (state kept);
- `connect()` to an already running lab;
- the control plane's total RSS once idle.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from labsetup.cluster.embedded import EmbeddedBackend
from labsetup.paths import REPO_ROOT

SECTION = "## Embedded cluster start-up"


def rss_mb(pid: int) -> float:
    """Return a process's resident set size in MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def summary(values: list[float]) -> str:
    """Return 'median (min-max)' for a list of measurements."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def timed(func: Callable[[], object]) -> float:
    """Return how long func takes, in seconds."""
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def measure(runs: int, idle_seconds: float, work: Path) -> dict[str, list[float]]:
    """Run the measurements and return the raw samples."""
    from labsetup.lab import connect

    samples: dict[str, list[float]] = {"cold": [], "warm": [], "connect": [], "rss": [], "rss_by": []}
    for i in range(runs):
        backend = EmbeddedBackend(work / f"cold-{i}")
        samples["cold"].append(timed(backend.up))
        backend.down()
        samples["warm"].append(timed(backend.up))
        if i == 0:
            connect(directory=backend.dir)  # first call imports what it needs
        samples["connect"].append(timed(lambda b=backend: connect(directory=b.dir)))
        time.sleep(idle_seconds)
        pids = {n: p["pid"] for n, p in backend.status().processes.items()}
        per = {n: rss_mb(pid) for n, pid in pids.items()}
        samples["rss"].append(sum(per.values()))
        samples["rss_by"].append(per["kube-apiserver"])
        backend.down()
        shutil.rmtree(backend.dir, ignore_errors=True)
    return samples


def render(samples: dict[str, list[float]], runs: int, idle_seconds: float) -> str:
    """Return the Markdown section for BENCHMARKS.md."""
    rows = [
        ("cold start to usable (fresh lab directory), s", samples["cold"], "<= 2.5"),
        ("warm start to usable (after a clean down), s", samples["warm"], "<= 2.0"),
        ("connect() to a running lab, s", samples["connect"], "<= 0.2"),
        (f"control-plane RSS after {idle_seconds:.0f} s idle, MB", samples["rss"], "<= 350"),
        ("  of which kube-apiserver, MB", samples["rss_by"], ""),
    ]
    lines = [
        SECTION,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `python -m labsetup bench` on {os.cpu_count()} cores "
        f"({platform.machine()}, Python {platform.python_version()}), binaries cached, "
        f"{runs} runs; median (min-max).",
        "",
        "| measure | result | target |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {summary(values)} | {target} |" for name, values, target in rows]
    return "\n".join(lines) + "\n"


def replace_section(path: Path, heading: str, body: str) -> None:
    """Replace the section that starts with `heading` in a Markdown file (append it if absent)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find(heading)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        nxt = text.find("\n## ", start + len(heading))
        text = text[:start] + body + ("" if nxt < 0 else text[nxt:])
    path.write_text(text)


NOTEBOOK_SECTION = "## Notebooks under nbval"


def measure_notebooks(runs: int, work: Path) -> list[float]:
    """Time the nbval run of every notebook from a stopped lab (cluster start included), `runs` times."""
    import subprocess
    import sys

    times = []
    for i in range(runs):
        env = dict(os.environ, SA_LAB_DIR=str(work / f"nbval-{i}"))
        argv = [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "-q",
            "-p",
            "no:cacheprovider",
            str(REPO_ROOT / "notebooks"),
        ]
        start = time.perf_counter()
        subprocess.run(argv, env=env, cwd=REPO_ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def render_notebooks(times: list[float]) -> str:
    """Return the Markdown section for the notebook run."""
    count = len(list((REPO_ROOT / "notebooks").glob("*.ipynb")))
    return (
        "\n".join(
            [
                NOTEBOOK_SECTION,
                "",
                f"Measured {time.strftime('%Y-%m-%d')} by `python -m labsetup bench --notebooks` on "
                f"{os.cpu_count()} cores: `pytest --nbval-lax` over all {count} notebooks from a stopped lab "
                f"(cluster start included), {len(times)} runs; median (min-max).",
                "",
                "| measure | result | target |",
                "|---|---|---|",
                f"| nbval run of every notebook, cluster start included, s | {summary(times)} | <= 60 |",
            ]
        )
        + "\n"
    )


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the bench options to a parser."""
    parser.add_argument("--runs", type=int, default=5, help="runs per measure (default 5)")
    parser.add_argument(
        "--idle", type=float, default=10.0, help="seconds idle before reading RSS (default 10)"
    )
    parser.add_argument(
        "--output", type=Path, default=REPO_ROOT / "BENCHMARKS.md", help="Markdown file to update"
    )


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure, print the section and write it into the output file."""
    from labsetup.cluster.binaries import ensure
    from labsetup.progress import StderrProgress

    ensure(StderrProgress())
    with tempfile.TemporaryDirectory(prefix="sa-lab-bench-") as work:
        samples = measure(args.runs, args.idle, Path(work))
        body = render(samples, args.runs, args.idle)
        replace_section(args.output, SECTION, body)
        print(body)
        if args.notebooks:
            notebooks = render_notebooks(measure_notebooks(max(1, args.runs // 2), Path(work)))
            replace_section(args.output, NOTEBOOK_SECTION, notebooks)
            print(notebooks)
    return 0

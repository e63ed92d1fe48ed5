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
import subprocess
import sys
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


def run_notebooks(lab_dir: Path, *extra: str, learner: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run every lesson notebook under nbval (`pytest --nbval-lax`) against the lab in lab_dir."""
    env = dict(os.environ, SA_LAB_DIR=str(lab_dir))
    env.pop("SA_LAB_BACKEND", None)  # the lab directory's recorded backend decides
    if learner:
        env["SA_LAB_LEARNER"] = learner
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval-lax",
        "--nbval-current-env",
        "-q",
        "-p",
        "no:cacheprovider",
        *extra,
        str(REPO_ROOT / "notebooks"),
    ]
    return subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)


def measure_notebooks(runs: int, work: Path) -> list[float]:
    """Time the nbval run of every notebook from a stopped lab (cluster start included), `runs` times."""
    times = []
    for i in range(runs):
        start = time.perf_counter()
        run = run_notebooks(work / f"nbval-{i}")
        if run.returncode != 0:
            raise RuntimeError(f"the notebooks failed under nbval:\n{run.stdout[-3000:]}")
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


NODE_SECTION = "## Embedded node"


def _node_rss(backend: EmbeddedBackend) -> float:
    """RSS of the node's processes plus the containerd shims serving its pods."""
    names = ("containerd", "kube-scheduler", "kubelet")
    total = sum(rss_mb(p["pid"]) for n, p in backend.status().processes.items() if n in names and p["pid"])
    marker = str(backend.node.socket).encode()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"containerd-shim" in cmdline and marker in cmdline:
                total += rss_mb(int(proc.name))
    return total


def measure_node(runs: int, idle_seconds: float, work: Path) -> dict[str, list[float]]:
    """Time `up --with-node` to a Ready node and a pod to Running; read the node's idle RSS."""
    from labsetup import manifests, pods
    from labsetup.lab import Lab

    samples: dict[str, list[float]] = {"up": [], "pod": [], "rss": [], "plane": []}
    for i in range(runs):
        backend = EmbeddedBackend(work / f"node-{i}", with_node=True)
        samples["up"].append(timed(backend.up))
        lab = Lab(backend)
        ns = lab.namespace("bench")
        start = time.perf_counter()
        manifests.apply(lab, "01-pod-no-serviceaccount", ns)
        pods.wait_running(lab, ns, "app")
        samples["pod"].append(time.perf_counter() - start)
        time.sleep(idle_seconds)
        samples["rss"].append(_node_rss(backend))
        samples["plane"].append(
            sum(
                rss_mb(p["pid"])
                for n, p in backend.status().processes.items()
                if n in ("etcd", "kube-apiserver", "kube-controller-manager")
            )
        )
        backend.down()
        shutil.rmtree(backend.dir, ignore_errors=True)
    return samples


def render_node(samples: dict[str, list[float]], runs: int, idle_seconds: float) -> str:
    """Return the Markdown section for the node."""
    return (
        "\n".join(
            [
                NODE_SECTION,
                "",
                f"Measured {time.strftime('%Y-%m-%d')} by `python -m labsetup bench --node` on "
                f"{os.cpu_count()} cores, as root, binaries cached, {runs} runs; median (min-max).",
                "",
                "| measure | result | target |",
                "|---|---|---|",
                f"| `up --with-node` from a fresh lab dir to a Ready node, s | {summary(samples['up'])} "
                "| node <= 5 after the plane |",
                f"| pod create to Running (busybox, local image), s | {summary(samples['pod'])} | <= 1 |",
                f"| node RSS after {idle_seconds:.0f} s idle (kubelet, scheduler, containerd, shim), MB | "
                f"{summary(samples['rss'])} | <= 200 |",
                f"| control plane RSS beside it, MB | {summary(samples['plane'])} | |",
                "",
                "The control plane alone takes about 2.8 s of the `up` time (section above); the node's own",
                "part is the rest: containerd, image import, kubelet registration, and the not-ready taint.",
            ]
        )
        + "\n"
    )


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the bench options to a parser."""
    parser.add_argument("--runs", type=int, default=5, help="runs per measure (default 5)")
    parser.add_argument("--node", action="store_true", help="also measure the opt-in node (Linux, root)")
    parser.add_argument("--notebooks", action="store_true", help="also time the nbval run of every notebook")
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
        if args.node:
            node = render_node(
                measure_node(max(3, args.runs // 2), args.idle, Path(work)), max(3, args.runs // 2), args.idle
            )
            replace_section(args.output, NODE_SECTION, node)
            print(node)
        if args.notebooks:
            notebooks = render_notebooks(measure_notebooks(max(1, args.runs // 2), Path(work)))
            replace_section(args.output, NOTEBOOK_SECTION, notebooks)
            print(notebooks)
    return 0

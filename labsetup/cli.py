"""Command line: `python -m labsetup up|down|status|doctor|build|audit|progress|bench`.

Results go to stdout, progress and errors to stderr. `main(argv)` returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence

from labsetup.cluster import BACKENDS, get_backend, record_choice, resolve_name
from labsetup.errors import InputError, LabError
from labsetup.paths import lab_dir
from labsetup.progress import StderrProgress


def _backend(args: argparse.Namespace):  # noqa: ANN202
    chosen = resolve_name(args.backend, args.lab_dir)
    allowed = {
        "existing": ("kubeconfig", "context", "prefix", "allow_cluster_writes"),
        "embedded": ("with_node",),
    }
    options = {}
    for key in ("kubeconfig", "context", "prefix", "allow_cluster_writes", "with_node"):
        if getattr(args, key, None) is not None:
            if key not in allowed.get(chosen, ()):
                owner = next(name for name, keys in allowed.items() if key in keys)
                raise InputError(
                    f"unable to use --{key.replace('_', '-')}: it does not apply to the {chosen} backend; "
                    f"try --backend {owner}"
                )
            options[key] = getattr(args, key)
    return get_backend(chosen, args.lab_dir, StderrProgress(), **options)


def cmd_up(args: argparse.Namespace) -> int:
    """Start the lab and print where its kubeconfig is."""
    backend = _backend(args)
    status = backend.up()
    record_choice(args.lab_dir or lab_dir(), backend.name)
    print(
        f"lab ready ({status.backend}): {status.server} ({status.version}); kubeconfig: {status.kubeconfig}"
    )
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    """Stop the lab (and with --purge forget its state)."""
    _backend(args).down(purge=args.purge)
    print("lab stopped" + (" and its state removed" if args.purge else ""))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print the lab's status; exit 1 when it is not ready."""
    status = _backend(args).status()
    if args.json:
        print(json.dumps(status.to_dict(), indent=2))
    else:
        print(
            f"backend: {status.backend}\nready: {status.ready} ({status.detail})\nserver: {status.server}\n"
            f"version: {status.version}\nkubeconfig: {status.kubeconfig}\nbinaries: {status.binaries}"
        )
        for key, value in status.settings.items():
            print(f"{key.replace('_', ' ')}: {value}")
    return 0 if status.ready else 1


def cmd_doctor(args: argparse.Namespace) -> int:
    """Say what is missing and how to get it."""
    from labsetup.doctor import checks, report

    backend = resolve_name(args.backend, args.lab_dir)
    text, ok = report(checks(backend, args.lab_dir or lab_dir()), backend)
    print(text)
    return 0 if ok else 1


def cmd_build(args: argparse.Namespace) -> int:
    """Build (or find) the control-plane binaries and print their directory."""
    from labsetup.cluster.binaries import CONTROL_PLANE, NODE, build, find

    if args.kind:
        from labsetup.cluster.kind import install_kind

        print(install_kind(StderrProgress(), force=args.force))
        return 0
    names = CONTROL_PLANE + (NODE if args.with_node else ())
    found = find(names) if not args.force else None
    found = found or build(StderrProgress(min_interval=5.0), names)
    print(found.directory)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Audit RBAC for risky service-account permissions."""
    from labsetup.audit_cli import cmd_audit as run

    return run(args)


def cmd_progress(args: argparse.Namespace) -> int:
    """Show a learner's quiz progress, or collect several learners'."""
    from labsetup.quiz.progress import cmd_progress as run

    return run(args)


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure start times and memory; write BENCHMARKS.md."""
    from labsetup.bench import cmd_bench as run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m labsetup", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logs and tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument(
            "--backend",
            choices=BACKENDS,
            default=None,
            help="cluster backend (default: $SA_LAB_BACKEND, else auto: the backend of the last `up` "
            "in this lab directory, else embedded)",
        )
        p.add_argument(
            "--lab-dir", type=_path, default=None, help="lab state directory (default: $SA_LAB_DIR or .lab)"
        )
        p.set_defaults(func=func)
        return p

    up = add("up", cmd_up, "start the lab cluster (idempotent)")
    up.add_argument(
        "--with-node",
        action="store_true",
        default=None,
        help="embedded backend: also run a node (kubelet + containerd + runc; Linux and root) so "
        "pods really run; notebooks: set SA_LAB_NODE=1",
    )
    up.add_argument(
        "--kubeconfig", type=_path, help="existing backend: the kubeconfig file to use (never inferred)"
    )
    up.add_argument("--context", help="existing backend: the context in that file")
    up.add_argument(
        "--prefix", help="existing backend: name prefix for this learner's objects (default: NAME-)"
    )
    up.add_argument(
        "--allow-cluster-writes",
        action="store_true",
        default=None,
        help="existing backend: allow the lab to create cluster-scoped objects (lesson 05)",
    )
    add("down", cmd_down, "stop the lab cluster").add_argument(
        "--purge", action="store_true", help="also delete certificates and etcd data"
    )
    add("status", cmd_status, "report the lab cluster").add_argument("--json", action="store_true")
    add("doctor", cmd_doctor, "check what the lab needs and say how to get what is missing")
    build = add("build", cmd_build, "build the control-plane binaries into the cache")
    build.add_argument("--force", action="store_true", help="rebuild even if found")
    build.add_argument(
        "--with-node", action="store_true", help="also build kubelet, kube-scheduler and containerd"
    )
    build.add_argument(
        "--kind", action="store_true", help="install the pinned kind CLI instead (kind backend)"
    )
    audit = add("audit", cmd_audit, "audit RBAC bindings for risky service-account permissions")
    _optional_arguments(audit, "labsetup.audit_cli", "add_audit_arguments")
    progress = add("progress", cmd_progress, "show quiz progress")
    _optional_arguments(progress, "labsetup.quiz.progress", "add_progress_arguments")
    bench = add("bench", cmd_bench, "measure start-up time and memory into BENCHMARKS.md")
    _optional_arguments(bench, "labsetup.bench", "add_bench_arguments")
    return parser


def _path(text: str):  # noqa: ANN202
    from pathlib import Path

    return Path(text).expanduser().resolve()


def _optional_arguments(parser: argparse.ArgumentParser, module: str, func: str) -> None:
    import importlib

    getattr(importlib.import_module(module), func)(parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except LabError as err:
        if args.verbose:
            raise
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

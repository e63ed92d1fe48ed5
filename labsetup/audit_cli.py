"""`python -m labsetup audit`: audit RBAC from a dump or the live lab, as a table or JSON.

Exit codes: 0 no finding at or above --fail-on (or no --fail-on), 1 such a finding exists, 2 unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from labsetup.audit import AuditResult, Finding, audit
from labsetup.audit_catalog import SEVERITIES
from labsetup.audit_input import load_file, load_from_cluster, parse_text
from labsetup.errors import InputError

COLUMNS = ("SEVERITY", "PATTERN", "SUBJECT", "BINDING", "ROLE", "SCOPE", "REASON")


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the audit options to a (sub)parser."""
    parser.add_argument(
        "--input",
        metavar="FILE",
        default=None,
        help="JSON/YAML from `kubectl get "
        "clusterroles,roles,clusterrolebindings,rolebindings,serviceaccounts -A -o json`; "
        "`-` reads stdin (default: the live lab)",
    )
    parser.add_argument(
        "--format", choices=("table", "json"), default="table", help="output format (default table)"
    )
    parser.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default=None,
        metavar="SEVERITY",
        help=f"exit 1 if a finding is at least this severe ({', '.join(SEVERITIES)}; default: never)",
    )
    parser.add_argument(
        "--exclude-system",
        action="store_true",
        help="hide findings on platform-default bindings (bootstrap label, kubeadm/kind allowlist)",
    )


def _subject(f: Finding) -> str:
    if f.subject.kind == "ServiceAccount":
        text = f"sa {f.subject.namespace}/{f.subject.name}"
        return text + " (default SA)" if f.default_account else text
    return f"{f.subject.kind.lower()} {f.subject.name}"


def _binding(f: Finding) -> str:
    text = f"rb {f.binding.namespace}/{f.binding.name}" if f.binding.namespace else f"crb {f.binding.name}"
    return text + " [default]" if f.system else text


def render_table(result: AuditResult) -> str:
    """Return the findings as plain-text columns, most severe first, with a summary line."""
    rows = [
        (f.severity, f.pattern, _subject(f), _binding(f), f"{f.role.kind}/{f.role.name}", f.scope, f.reason)
        for f in result.findings
    ]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(COLUMNS[:-1])]
    lines = []
    for row in [COLUMNS, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    counts = Counter(f.severity for f in result.findings)
    summary = ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s]) or "none"
    lines.append(f"\n{len(rows)} findings: {summary}")
    defaults = sum(f.system for f in result.findings)
    if defaults:
        lines.append(
            f"{defaults} on platform-default bindings, marked [default] (--exclude-system hides them)"
        )
    if result.excluded:
        lines.append(f"{result.excluded} findings on platform-default bindings hidden by --exclude-system")
    return "\n".join(lines)


def _objects(args: argparse.Namespace) -> list[object]:
    source = getattr(args, "input", None)
    if source == "-":
        return parse_text(sys.stdin.read(), source="stdin")
    if source:
        return load_file(Path(source))
    from labsetup import connect  # the live lab; imported late so offline audits need no cluster code

    lab = connect(getattr(args, "backend", None), getattr(args, "lab_dir", None))
    return list(load_from_cluster(lab.api_client))


def cmd_audit(args: argparse.Namespace) -> int:
    """Run the audit for parsed arguments; print the report and return the exit code."""
    try:
        result = audit(_objects(args), exclude_system=bool(getattr(args, "exclude_system", False)))
    except InputError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    if getattr(args, "format", "table") == "json":
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(render_table(result))
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    fail_on = getattr(args, "fail_on", None)
    return 1 if fail_on and result.at_or_above(fail_on) else 0

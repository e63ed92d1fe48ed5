"""Notebook display helpers: small tables that render as HTML in Jupyter and as text elsewhere."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

YES, NO = "✅", "❌"


def mark(flag: bool) -> str:
    """Return a check mark or a cross."""
    return YES if flag else NO


class Table:
    """Rows of dicts shown as a table; `rows` stays available for asserts."""

    def __init__(
        self, rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None, title: str = ""
    ):
        self.rows = [dict(r) for r in rows]
        self.columns = list(columns or (self.rows[0].keys() if self.rows else []))
        self.title = title

    def _cell(self, row: Mapping[str, Any], col: str) -> str:
        value = row.get(col, "")
        return ", ".join(map(str, value)) if isinstance(value, list | tuple | set) else str(value)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td style='text-align:left'>{html.escape(self._cell(r, c))}</td>" for c in self.columns
            )
            + "</tr>"
            for r in self.rows
        )
        caption = (
            f"<caption style='text-align:left'><b>{html.escape(self.title)}</b></caption>"
            if self.title
            else ""
        )
        return (
            f"<table class='lab-table'>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    def __repr__(self) -> str:
        widths = {c: max([len(c)] + [len(self._cell(r, c)) for r in self.rows]) for c in self.columns}
        lines = [self.title] if self.title else []
        lines.append("  ".join(c.ljust(widths[c]) for c in self.columns))
        lines += ["  ".join(self._cell(r, c).ljust(widths[c]) for c in self.columns) for r in self.rows]
        return "\n".join(lines)


def key_values(pairs: Mapping[str, Any], title: str = "") -> Table:
    """Return a two-column table of names and values."""
    return Table([{"": k, "value": v} for k, v in pairs.items()], ["", "value"], title)


def lab_summary(lab: Any) -> Table:
    """Return the lab's backend, server, version, kubeconfig and capabilities as a table."""
    status = lab.backend.status()
    caps = lab.capabilities
    return key_values(
        {
            "backend": status.backend,
            "ready": mark(status.ready),
            "server": status.server,
            "Kubernetes version": status.version,
            "kubeconfig (the lab's own)": status.kubeconfig,
            "pods actually run": mark(caps.pods_run),
            "exec into pods": mark(caps.exec),
            "max token expiration": caps.max_token_expiration or "not set",
        },
        "The lab cluster",
    )


def processes(lab: Any) -> Table:
    """Return the lab's local processes (embedded backend) with pid and memory."""
    from labsetup.bench import rss_mb

    rows = []
    for name, info in lab.backend.status().processes.items():
        pid = info.get("pid")
        rows.append(
            {
                "process": name,
                "pid": pid or "-",
                "running": mark(bool(info.get("running"))),
                "RSS MB": f"{rss_mb(pid):.0f}" if pid else "-",
            }
        )
    return Table(rows, title="What runs on this machine")


def findings_table(findings: Iterable[Any], title: str = "Audit findings") -> Table:
    """Return audit findings as a table (severity, pattern, subject, binding, role, scope, why)."""
    rows = []
    for f in findings:
        subject = (
            f"{f.subject.kind} {f.subject.namespace + '/' if f.subject.namespace else ''}{f.subject.name}"
        )
        rows.append(
            {
                "severity": f.severity,
                "pattern": f.pattern,
                "subject": subject,
                "binding": f"{f.binding.kind} {f.binding.name}",
                "role": f"{f.role.kind} {f.role.name}",
                "scope": f.scope,
                "what it allows": f.title,
            }
        )
    return Table(rows, title=title)

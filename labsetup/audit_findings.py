"""Audit results: findings (who, which binding and role, which pattern, how severe) and their JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from labsetup.audit_catalog import severity_rank


class SubjectRef(NamedTuple):
    """Who a finding is about: a ServiceAccount (namespace set), or a Group/User (namespace None)."""

    kind: str
    namespace: str | None
    name: str


class BindingRef(NamedTuple):
    """The binding that grants: a RoleBinding (namespace set) or ClusterRoleBinding (namespace None)."""

    kind: str
    namespace: str | None
    name: str


class RoleRef(NamedTuple):
    """The role a binding references (a Role lives in the binding's namespace)."""

    kind: str
    name: str


@dataclass(slots=True)
class Finding:
    """One risky grant: which subject, through which binding and role, matching which catalog pattern.

    Treat it as read-only; `to_dict` gives the JSON form.
    """

    subject: SubjectRef
    binding: BindingRef
    role: RoleRef
    severity: str
    pattern: str
    scope: str
    reason: str
    title: str = ""
    remediation: str = ""
    rules: tuple[dict[str, Any], ...] = ()
    narrowed: bool = False
    covers: tuple[str, ...] = ()
    default_account: bool = False
    system: bool = False
    bound_as: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: subject, binding, role, severity, pattern, scope, reason, then extras."""
        return {
            "subject": self.subject._asdict(),
            "binding": self.binding._asdict(),
            "role": self.role._asdict(),
            "severity": self.severity,
            "pattern": self.pattern,
            "scope": self.scope,
            "reason": self.reason,
            "title": self.title,
            "rule": self.rules[0] if self.rules else None,
            "rules": list(self.rules),
            "narrowed": self.narrowed,
            "covers": list(self.covers),
            "default_account": self.default_account,
            "system": self.system,
            "bound_as": self.bound_as,
            "remediation": self.remediation,
        }


@dataclass
class AuditResult:
    """Findings (most severe first), warnings about the input, and how many findings exclude_system hid."""

    findings: list[Finding]
    warnings: list[str] = field(default_factory=list)
    excluded: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return `{"findings": [...], "warnings": [...]}`."""
        return {"findings": [f.to_dict() for f in self.findings], "warnings": list(self.warnings)}

    def at_or_above(self, severity: str) -> list[Finding]:
        """Return the findings of this severity or worse."""
        floor = severity_rank(severity)
        return [f for f in self.findings if severity_rank(f.severity) >= floor]

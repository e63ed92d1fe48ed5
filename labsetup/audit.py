"""Audit RBAC bindings for risky ServiceAccount permissions.

For every RoleBinding and ClusterRoleBinding, the subjects that are (or include) ServiceAccounts are matched
against the risk catalog (`labsetup/data/rbac-risk-catalog.yaml`) through their role's effective rules. One
finding per subject x binding x pattern names the matching rules, the severity and what to do. Platform
defaults (bootstrap label or the kubeadm/kind allowlist) are marked `system`, not hidden, unless
`exclude_system` is set. Malformed input becomes findings (RBAC-33) or `warnings`, never an exception.

    result = audit(load_file("rbac.json"))
    for finding in result.findings: ...
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from labsetup.audit_catalog import (
    Catalog,
    Pattern,
    RuleCache,
    RuleMatch,
    load_catalog,
    raise_severity,
    severity_rank,
)
from labsetup.audit_findings import AuditResult, BindingRef, Finding, RoleRef, SubjectRef
from labsetup.audit_input import load_file, load_from_cluster, parse_text
from labsetup.audit_policy import Binding, Policy, Role
from labsetup.rbac import ANONYMOUS, AUTHENTICATED, SA_GROUP, UNAUTHENTICATED, PolicyRule, parse_sa_username

__all__ = [
    "AuditResult",
    "BindingRef",
    "Catalog",
    "Finding",
    "Policy",
    "RoleRef",
    "SubjectRef",
    "audit",
    "load_catalog",
    "load_file",
    "load_from_cluster",
    "parse_text",
]

_AGGREGATE_LABELS = tuple(f"rbac.authorization.k8s.io/aggregate-to-{r}" for r in ("admin", "edit", "view"))


@dataclass(frozen=True, slots=True)
class _Hit:
    pattern: Pattern
    severity: str
    matches: tuple[RuleMatch, ...]
    covers: tuple[str, ...]
    reason: str
    rules: tuple[dict[str, Any], ...] = ()  # the matches in API form, shared by this hit's findings
    narrowed: bool = False

    @classmethod
    def make(
        cls,
        pattern: Pattern,
        severity: str,
        matches: tuple[RuleMatch, ...],
        covers: tuple[str, ...],
        reason: str,
    ) -> _Hit:
        rules = tuple({**m.sourced.rule.to_dict(), "source": m.sourced.source} for m in matches)
        narrowed = bool(matches) and all(m.narrowed for m in matches)
        return cls(pattern, severity, matches, covers, reason, rules, narrowed)


class _Target(NamedTuple):
    kind: str  # ServiceAccount or Group or User
    namespace: str | None
    name: str
    bound_as: str
    category: str  # sa, group, anonymous


def _rule_text(rule: PolicyRule) -> str:
    groups = ",".join(g if g else '""' for g in rule.api_groups)
    text = f"{','.join(rule.verbs)} {','.join(rule.resources)} [apiGroups {groups}]"
    return text + (f" [resourceNames {','.join(rule.resource_names)}]" if rule.resource_names else "")


def _target(subject_kind: str, name: str, namespace: str, binding: Binding) -> _Target | None:
    """Classify a subject: a ServiceAccount, a group that includes ServiceAccounts, anonymous, or None."""
    if subject_kind == "ServiceAccount":
        ns = namespace or (binding.namespace if binding.kind == "RoleBinding" else "")
        return _Target("ServiceAccount", ns, name, "ServiceAccount", "sa") if ns else None
    if subject_kind == "User":
        sa = parse_sa_username(name)
        if sa is not None:
            return _Target("ServiceAccount", sa[0], sa[1], "User", "sa")
        return _Target("User", None, name, "User", "anonymous") if name == ANONYMOUS else None
    if name in (SA_GROUP, AUTHENTICATED) or (
        name.startswith(f"{SA_GROUP}:") and len(name) > len(SA_GROUP) + 1
    ):
        return _Target("Group", None, name, "Group", "group")
    return _Target("Group", None, name, "Group", "anonymous") if name == UNAUTHENTICATED else None


class _Auditor:
    def __init__(self, policy: Policy, catalog: Catalog, privileged: frozenset[str]) -> None:
        self.policy, self.catalog, self.privileged = policy, catalog, privileged
        self.patterns = catalog.patterns
        self._hits: dict[tuple[str, str, str, bool, bool], list[_Hit]] = {}
        self._rule_cache: RuleCache = {}
        self.aggregated_reached: set[str] = set()

    def role_hits(self, role: Role, cluster_wide: bool, elevated: bool) -> list[_Hit]:
        """Return the catalogued patterns a role grants in one scope (cached), covered ones folded in."""
        key = (role.kind, role.namespace, role.name, cluster_wide, elevated)
        if key not in self._hits:
            self._hits[key] = self._compute_hits(role, cluster_wide, elevated)
        return self._hits[key]

    def _compute_hits(self, role: Role, cluster_wide: bool, elevated: bool) -> list[_Hit]:
        raw = self.catalog.match_rules(self.policy.effective_rules(role), cluster_wide, self._rule_cache)
        raw = {pid: m for pid, m in raw.items() if elevated or not self.patterns[pid].privileged_only}
        severity: dict[str, str] = {}
        for pid, matches in raw.items():
            pattern = self.patterns[pid]
            severity[pid] = pattern.elevated if elevated else pattern.severity
            if matches[0].narrowed:  # full matches sort first: every matching rule is narrowed
                severity[pid] = min(severity[pid], "medium" if elevated else "low", key=severity_rank)
        # Fold a pattern into a broader one (covered_by) matched by the same rules and at least as severe.
        rule_sets = {pid: {m.sourced.rule for m in ms} for pid, ms in raw.items()}
        parent: dict[str, str] = {}
        for pid in raw:
            for cover in self.patterns[pid].covered_by:
                if (
                    cover in raw
                    and rule_sets[pid] <= rule_sets[cover]
                    and severity_rank(severity[cover]) >= severity_rank(severity[pid])
                ):
                    parent[pid] = cover
                    break
        covered: dict[str, list[str]] = {}
        for pid in parent:
            root, seen = parent[pid], {pid}
            while root in parent and root not in seen:
                seen.add(root)
                root = parent[root]
            covered.setdefault(root, []).append(pid)
        where = "cluster-wide" if cluster_wide else "in the binding's namespace"
        hits: list[_Hit] = []
        for pid, matches in raw.items():
            if pid in parent:
                continue
            pattern, first = self.patterns[pid], matches[0]
            reason = f"{pattern.title}: {_rule_text(first.sourced.rule)} from {first.sourced.source}, {where}"
            if first.narrowed:
                reason += " (only objects listed in resourceNames; `*` there is literal)"
            if len(matches) > 1:
                reason += f" (+{len(matches) - 1} more rules)"
            covers = tuple(sorted(covered.get(pid, ())))
            if covers:
                reason += (
                    f"; includes {', '.join(covers)}"
                    if len(covers) <= 6
                    else f"; includes {len(covers)} narrower patterns"
                )
            hits.append(_Hit.make(pattern, severity[pid], tuple(matches), covers, reason))
        hits.extend(self._aggregation_hits(role, cluster_wide, elevated))
        return hits

    def _aggregation_hits(self, role: Role, cluster_wide: bool, elevated: bool) -> list[_Hit]:
        """Return RBAC-31 hits: custom aggregate-to-admin/edit/view roles that an aggregated role pulls in."""
        hits: list[_Hit] = []
        pattern = self.patterns["RBAC-31"]
        for other in self.policy.contributors(role):
            labels = [k for k in _AGGREGATE_LABELS if other.labels.get(k) == "true"]
            if not labels or self.catalog.is_default_role(other):
                continue
            self.aggregated_reached.add(other.name)
            sub = self.catalog.match_rules(self.policy.effective_rules(other), cluster_wide, self._rule_cache)
            ids = sorted(pid for pid in sub if elevated or not self.patterns[pid].privileged_only)
            reason = (
                f"{pattern.title}: ClusterRole {role.name} includes the rules of custom ClusterRole "
                f"{other.name} (label {labels[0]})"
            )
            matches = tuple(RuleMatch(s, False) for s in self.policy.effective_rules(other))
            severity = pattern.elevated if elevated else pattern.severity
            hits.append(_Hit.make(pattern, severity, matches, tuple(ids), reason))
        return hits

    def run(self) -> list[Finding]:
        findings: list[Finding] = []
        for binding in self.policy.bindings:
            if binding.role_kind:
                findings.extend(self._binding_findings(binding))
        return findings

    def _binding_findings(self, binding: Binding) -> list[Finding]:
        targets: dict[tuple[str, str | None, str], _Target] = {}
        for s in binding.subjects:
            target = _target(s.kind, s.name, s.namespace, binding)
            if target is not None:
                targets.setdefault((target.kind, target.namespace, target.name), target)
        if not targets:
            return []
        cluster_wide = binding.kind == "ClusterRoleBinding"
        elevated = cluster_wide or binding.namespace in self.privileged
        role = self.policy.role_for(binding)
        hits = self.role_hits(role, cluster_wide, elevated) if role is not None else []
        ctx = _Context(
            BindingRef(binding.kind, binding.namespace or None, binding.name),
            RoleRef(binding.role_kind, binding.role_name),
            "cluster" if cluster_wide else binding.namespace,
            self.catalog.is_default_binding(binding),
        )
        out: list[Finding] = []
        for t in targets.values():
            out.extend(self._target_findings(t, ctx, role, hits))
        return out

    def _target_findings(
        self, t: _Target, ctx: _Context, role: Role | None, hits: list[_Hit]
    ) -> list[Finding]:
        who = SubjectRef(t.kind, t.namespace, t.name)
        default_account = t.category == "sa" and t.name == "default"

        def finding(
            pattern: Pattern, severity: str, reason: str, hit: _Hit | None, covers: tuple[str, ...]
        ) -> Finding:
            rules, narrowed = (hit.rules, hit.narrowed) if hit else ((), False)
            return Finding(
                who, ctx.binding, ctx.role, severity, pattern.id, ctx.scope, reason, pattern.title,
                pattern.remediation, rules, narrowed, covers, default_account, ctx.system, t.bound_as,
            )  # fmt: skip

        out: list[Finding] = []
        ids = tuple(sorted({h.pattern.id for h in hits}))
        role_text = f"{ctx.role.kind} {ctx.role.name}"
        if role is None:
            p33 = self.patterns["RBAC-33"]
            sev = raise_severity(p33.severity) if t.category == "group" else p33.severity
            out.append(finding(p33, sev, f"{p33.title}: {role_text} does not exist", None, ()))
        if t.category == "anonymous":
            p30 = self.patterns["RBAC-30"]
            sev = p30.severity if hits or role is None else "low"
            reason = f"{p30.title}: {t.name} holds {role_text} ({', '.join(ids) or 'nothing catalogued'})"
            return [*out, finding(p30, sev, reason, None, ids)]
        step = 1 if t.category == "group" else 0
        for hit in hits:
            out.append(finding(hit.pattern, raise_severity(hit.severity, step), hit.reason, hit, hit.covers))
        if t.category == "group" and role is not None:
            p32 = self.patterns["RBAC-32"]
            worst = max((h.severity for h in hits), key=severity_rank, default=None)
            sev = raise_severity(worst) if worst else p32.severity
            ns = t.name[len(SA_GROUP) + 1 :] if t.name.startswith(f"{SA_GROUP}:") else ""
            whom = f"every ServiceAccount in namespace {ns}" if ns else "every ServiceAccount"
            if t.name == AUTHENTICATED:
                whom = "every authenticated identity, ServiceAccounts included"
            out.append(finding(p32, sev, f"{p32.title}: {t.name} gives {role_text} to {whom}", None, ids))
        if t.category == "sa" and t.namespace and self.policy.sa_exists(t.namespace, t.name) is False:
            p34 = self.patterns["RBAC-34"]
            sev = p34.elevated if t.namespace in self.privileged else p34.severity
            reason = f"{p34.title}: ServiceAccount {t.namespace}/{t.name} is not in the input"
            out.append(finding(p34, sev, reason, None, ()))
        return out


class _Context(NamedTuple):
    binding: BindingRef
    role: RoleRef
    scope: str
    system: bool


def _sort_key(f: Finding) -> tuple[int, str, str, str, str, str, str, str, str]:
    subject, binding = f.subject, f.binding
    return (
        -severity_rank(f.severity),
        f.pattern,
        subject.kind,
        subject.namespace or "",
        subject.name,
        binding.kind,
        binding.namespace or "",
        binding.name,
        f.role.name,
    )


def audit(
    source: Policy | Iterable[object],
    *,
    exclude_system: bool = False,
    service_accounts: Iterable[tuple[str, str]] | None = None,
    privileged_namespaces: Iterable[str] | None = None,
    catalog: Catalog | None = None,
) -> AuditResult:
    """Audit roles and bindings for risky ServiceAccount grants.

    Args:
        source: a Policy, or kubectl-shaped objects (e.g. from `load_file` or `load_from_cluster`).
        exclude_system: drop findings on platform-default bindings; if unset they are kept, marked `system`.
        service_accounts: (namespace, name) of every existing account, enabling RBAC-34 everywhere; if unset,
            ServiceAccount objects in source are used, for their namespaces only. Ignored for a Policy
            (pass it to `Policy.from_objects` instead).
        privileged_namespaces: where grants count as elevated; if unset, the catalog's (kube-system).
        catalog: the risk catalog; if unset, the packaged one.

    Returns:
        An AuditResult with findings sorted most severe first, and warnings about malformed input.
    """
    policy = source if isinstance(source, Policy) else Policy.from_objects(source, service_accounts)
    catalog = catalog or load_catalog()
    privileged = (
        catalog.privileged_namespaces if privileged_namespaces is None else frozenset(privileged_namespaces)
    )
    auditor = _Auditor(policy, catalog, privileged)
    findings = auditor.run()
    warnings = list(policy.warnings)
    for role in policy.roles.values():
        labels = [k for k in _AGGREGATE_LABELS if role.labels.get(k) == "true"]
        if labels and role.kind == "ClusterRole" and role.name not in auditor.aggregated_reached:
            if not catalog.is_default_role(role):
                warnings.append(
                    f"ClusterRole {role.name} has label {labels[0]}=true: it widens that role wherever it is "
                    "bound (RBAC-31); no audited binding reaches it now"
                )
    kept = [f for f in findings if not (exclude_system and f.system)]
    kept.sort(key=_sort_key)
    return AuditResult(kept, warnings, len(findings) - len(kept))


def platform_default_bindings(source: Policy | Iterable[object], catalog: Catalog | None = None) -> set[str]:
    """Return the names of the platform-default bindings (bootstrap label or kubeadm/kind allowlist)."""
    policy = source if isinstance(source, Policy) else Policy.from_objects(source)
    catalog = catalog or load_catalog()
    return {b.name for b in policy.bindings if catalog.is_default_binding(b)}

"""The risk catalog (labsetup/data/rbac-risk-catalog.yaml) and matching a role's rules against it.

A rule pattern is a set of probes: concrete requests such as "create pods/exec in the core group". A rule
matches the pattern when the real RBAC predicates (`PolicyRule.allows`) allow one of its probes, so wildcards,
`*/subresource`, apiGroups and resourceNames behave exactly as in the API server. `<any>` in a probe is a
value no rule names, so only `*` allows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from labsetup.audit_policy import Binding, Role, SourcedRule
from labsetup.errors import InputError
from labsetup.rbac import ALL, PolicyRule, is_cluster_scoped

CATALOG_PATH = Path(__file__).resolve().parent / "data" / "rbac-risk-catalog.yaml"
"""The packaged catalog."""

SEVERITIES = ("info", "low", "medium", "high", "critical")
"""Severity levels, lowest first."""

ANY = "<any>"
_UNNAMED = "\x00<any>"  # a verb, group or resource no rule can name literally
_SOME_NAME = "\x00<some object>"  # an object name no resourceNames list contains
_SCOPES = ("any", "cluster", "namespace")

RuleCache = dict[tuple[PolicyRule, bool], tuple[tuple[str, bool], ...]]
"""Per-rule match results, keyed by (rule, cluster_wide)."""


_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def severity_rank(severity: str) -> int:
    """Return 0 for info up to 4 for critical; raise InputError for an unknown severity."""
    try:
        return _RANK[severity]
    except KeyError:
        raise InputError(f"unknown severity {severity!r}; use one of {', '.join(SEVERITIES)}") from None


def raise_severity(severity: str, steps: int = 1) -> str:
    """Return the severity moved by steps levels (negative lowers), capped to info..critical."""
    return SEVERITIES[max(0, min(len(SEVERITIES) - 1, severity_rank(severity) + steps))]


@dataclass(frozen=True, slots=True)
class Probe:
    """One concrete request a pattern looks for."""

    pattern: str
    verb: str
    group: str
    resource: str
    subresource: str
    cluster_scoped: bool
    nameable: bool  # False for create on a collection and deletecollection: no name to narrow by


@dataclass(frozen=True, slots=True)
class Pattern:
    """A catalog entry (see the header of the YAML file for the fields)."""

    id: str
    title: str
    severity: str
    elevated: str
    scope: str
    privileged_only: bool
    structural: bool
    covered_by: tuple[str, ...]
    why: str
    remediation: str


class RuleMatch(NamedTuple):
    """A rule that matched a pattern; narrowed when only via its resourceNames."""

    sourced: SourcedRule
    narrowed: bool


def _probes(pattern_id: str, spec: Mapping[str, Any]) -> list[Probe]:
    out: list[Probe] = []
    for verb in spec["verbs"]:
        for group in spec.get("groups", [""]):
            for combined in spec["resources"]:
                resource, _, sub = combined.partition("/")
                verb_, group_, resource_ = (_UNNAMED if v == ANY else v for v in (verb, group, resource))
                scoped = resource_ != _UNNAMED and is_cluster_scoped(group_, resource_)
                nameable = not ((verb == "create" and not sub) or verb == "deletecollection")
                out.append(Probe(pattern_id, verb_, group_, resource_, sub, scoped, nameable))
    return out


class Catalog:
    """The patterns, their probes indexed by resource, and the platform-default allowlist."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        try:
            self._load(data)
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            raise InputError(f"malformed RBAC risk catalog: {err!r}") from err

    def _load(self, data: Mapping[str, Any]) -> None:
        self.privileged_namespaces: frozenset[str] = frozenset(data.get("privileged_namespaces") or ())
        defaults = data.get("platform_defaults") or {}
        self.default_labels: dict[str, str] = dict(defaults.get("labels") or {})
        self.default_bindings: set[tuple[str, str, str, str, str]] = {
            (b["kind"], b.get("namespace", ""), b["name"], b["role"]["kind"], b["role"]["name"])
            for b in defaults.get("bindings") or []
        }
        self.patterns: dict[str, Pattern] = {}
        self.probes: list[Probe] = []
        for entry in data["patterns"]:
            pid = entry["id"]
            severity, scope = entry["severity"], entry.get("scope", "any")
            elevated = entry.get("elevated", severity)
            for level in (severity, elevated):
                severity_rank(level)
            if pid in self.patterns or scope not in _SCOPES:
                raise ValueError(f"pattern {pid}: duplicate id or bad scope {scope!r}")
            structural = bool(entry.get("structural"))
            if structural == bool(entry.get("match")):
                raise ValueError(f"pattern {pid}: needs either match or structural: true")
            self.patterns[pid] = Pattern(
                pid, entry["title"], severity, elevated, scope, bool(entry.get("privileged_only")),
                structural, tuple(entry.get("covered_by") or ()), entry["why"], entry["remediation"],
            )  # fmt: skip
            for spec in entry.get("match") or []:
                self.probes.extend(_probes(pid, spec))
        for pattern in self.patterns.values():
            unknown = set(pattern.covered_by) - self.patterns.keys()
            if unknown:
                raise ValueError(f"pattern {pattern.id}: covered_by names unknown {sorted(unknown)}")
        self._by_resource: dict[str, list[Probe]] = {}
        self._by_subresource: dict[str, list[Probe]] = {}
        for probe in self.probes:
            key = f"{probe.resource}/{probe.subresource}" if probe.subresource else probe.resource
            self._by_resource.setdefault(key, []).append(probe)
            if probe.subresource:
                self._by_subresource.setdefault(probe.subresource, []).append(probe)

    def is_default_binding(self, binding: Binding) -> bool:
        """Return True for a bootstrap-labelled binding or an allowlisted kubeadm/kind one (same roleRef)."""
        if self.default_labels and all(binding.labels.get(k) == v for k, v in self.default_labels.items()):
            return True
        key = (binding.kind, binding.namespace, binding.name, binding.role_kind, binding.role_name)
        return key in self.default_bindings

    def is_default_role(self, role: Role) -> bool:
        """Return True for a role carrying the bootstrap labels."""
        return bool(self.default_labels) and all(
            role.labels.get(k) == v for k, v in self.default_labels.items()
        )

    def _rule_hits(
        self, rule: PolicyRule, cluster_wide: bool, cache: RuleCache
    ) -> tuple[tuple[str, bool], ...]:
        """Return (pattern id, narrowed) for every rule pattern this rule matches; cached per rule."""
        key = (rule, cluster_wide)
        cached = cache.get(key)
        if cached is not None:
            return cached
        if ALL in rule.resources:
            candidates: Sequence[Probe] = self.probes
        else:
            found: list[Probe] = []
            for res in rule.resources:
                found.extend(self._by_resource.get(res, ()))
                if res.startswith("*/"):
                    found.extend(self._by_subresource.get(res[2:], ()))
            candidates = found
        best: dict[str, bool] = {}
        for probe in candidates:
            pattern = self.patterns[probe.pattern]
            if (probe.cluster_scoped or pattern.scope == "cluster") and not cluster_wide:
                continue  # a RoleBinding never grants cluster-scoped resources
            if pattern.scope == "namespace" and cluster_wide:
                continue
            if best.get(probe.pattern) is False:
                continue  # already a full match
            if not (
                rule.verb_matches(probe.verb)
                and rule.group_matches(probe.group)
                and rule.resource_matches(probe.resource, probe.subresource)
            ):
                continue
            if rule.name_matches(_SOME_NAME if probe.nameable else ""):
                best[probe.pattern] = False
            elif probe.nameable:
                best[probe.pattern] = True
        result = tuple(best.items())
        cache[key] = result
        return result

    def match_rules(
        self, rules: Sequence[SourcedRule], cluster_wide: bool, cache: RuleCache | None = None
    ) -> dict[str, list[RuleMatch]]:
        """Return pattern id -> matching rules (full matches first) for rules granted in one scope.

        Args:
            rules: the role's effective rules.
            cluster_wide: True through a ClusterRoleBinding; False through a RoleBinding, which skips
                cluster-scoped resources and cluster-only patterns.
            cache: per-rule results to reuse across calls (one audit run); if unset, nothing is reused.
        """
        cache = {} if cache is None else cache
        matches: dict[str, list[RuleMatch]] = {}
        for sourced in rules:
            for pattern_id, narrowed in self._rule_hits(sourced.rule, cluster_wide, cache):
                matches.setdefault(pattern_id, []).append(RuleMatch(sourced, narrowed))
        for found in matches.values():
            found.sort(key=lambda m: m.narrowed)
        return matches


@cache
def _default_catalog() -> Catalog:
    return Catalog(yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8")))


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Return the catalog from path, or the packaged one if unset (parsed once and shared)."""
    if path is None:
        return _default_catalog()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise InputError(f"unable to read RBAC risk catalog {path}: {err}") from err
    if not isinstance(data, Mapping):
        raise InputError(f"RBAC risk catalog {path} is not a mapping")
    return Catalog(data)

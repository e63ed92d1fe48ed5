"""Catalog patterns one row each (and other tools' bugs), severities and their bumps, groups, folding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from labsetup.audit import AuditResult, Catalog, Finding, audit, load_catalog, load_file
from labsetup.audit_catalog import CATALOG_PATH

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rbac"
RBAC = "rbac.authorization.k8s.io"


def subject_text(f: Finding) -> str:
    s = f.subject
    return f"{s.kind}:{s.namespace}/{s.name}" if s.namespace else f"{s.kind}:{s.name}"


def one(result: AuditResult, pattern: str, subject: str) -> Finding:
    found = [f for f in result.findings if f.pattern == pattern and subject_text(f) == subject]
    assert len(found) == 1, [(f.pattern, subject_text(f)) for f in result.findings]
    return found[0]


# ---------- one row per rule pattern, plus the known bugs of other tools ----------


def audit_rules(rules: list[dict[str, Any]], where: str = "rb:lab", **kw: Any) -> AuditResult:
    """Bind a ClusterRole holding rules to SA <ns>/app through `rb:<ns>` or `crb`."""
    kind, _, ns = where.partition(":")
    objects: list[object] = [{"kind": "ClusterRole", "metadata": {"name": "r"}, "rules": rules}]
    sa_ns = ns or "lab"
    binding = {
        "kind": "RoleBinding" if kind == "rb" else "ClusterRoleBinding",
        "metadata": {"name": "b", **({"namespace": ns} if ns else {})},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "r"},
        "subjects": kw.pop("subjects", [{"kind": "ServiceAccount", "name": "app", "namespace": sa_ns}]),
    }
    return audit([*objects, binding], **kw)


def r(verbs: str, resources: str, groups: str = "", names: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "verbs": verbs.split(","),
        "resources": resources.split(","),
        "apiGroups": groups.split(","),
    }
    if names is not None:
        rule["resourceNames"] = names.split(",")
    return rule


PATTERNS = [
    ("RBAC-01", [r("*", "*", "*")], "crb", {"RBAC-01"}),
    ("RBAC-01-core-group", [r("*", "*", "")], "crb", {"RBAC-01"}),
    ("RBAC-02", [r("*", "*", "*")], "rb:lab", {"RBAC-02"}),
    ("RBAC-03", [r("get", "secrets")], "rb:lab", {"RBAC-03"}),
    ("RBAC-04", [r("watch", "secrets")], "rb:lab", {"RBAC-04"}),
    ("RBAC-05-kube-system", [r("create", "secrets")], "rb:kube-system", {"RBAC-05"}),
    ("RBAC-05-not-elsewhere", [r("create", "secrets")], "rb:lab", set()),
    ("RBAC-06", [r("create", "serviceaccounts/token")], "rb:lab", {"RBAC-06"}),
    ("RBAC-07", [r("create", "pods")], "rb:lab", {"RBAC-07"}),
    ("RBAC-08-apps", [r("patch", "statefulsets", "apps")], "rb:lab", {"RBAC-08"}),
    ("RBAC-08-batch", [r("create", "cronjobs", "batch")], "rb:lab", {"RBAC-08"}),
    ("RBAC-08-core-rc", [r("update", "replicationcontrollers")], "rb:lab", {"RBAC-08"}),
    ("RBAC-09", [r("patch", "pods")], "rb:lab", {"RBAC-09"}),
    ("RBAC-10", [r("get", "pods/exec")], "rb:lab", {"RBAC-10"}),
    ("RBAC-11", [r("create", "pods/attach")], "rb:lab", {"RBAC-11"}),
    ("RBAC-12", [r("patch", "pods/ephemeralcontainers")], "rb:lab", {"RBAC-12"}),
    ("RBAC-13", [r("create", "pods/portforward")], "rb:lab", {"RBAC-13"}),
    ("RBAC-14", [r("get", "nodes/proxy")], "crb", {"RBAC-14"}),
    ("RBAC-14-not-via-rb", [r("get", "nodes/proxy")], "rb:lab", set()),
    ("RBAC-15-sa", [r("impersonate", "serviceaccounts")], "rb:lab", {"RBAC-15"}),
    ("RBAC-15-users-not-via-rb", [r("impersonate", "users")], "rb:lab", set()),
    ("RBAC-15-groups", [r("impersonate", "groups")], "crb", {"RBAC-15"}),
    ("RBAC-15-uids", [r("impersonate", "uids", "authentication.k8s.io")], "crb", {"RBAC-15"}),
    (
        "RBAC-16",
        [r("bind", "clusterroles", RBAC), r("create", "rolebindings", RBAC)],
        "crb",
        {"RBAC-16", "RBAC-19"},
    ),
    ("RBAC-16-star-verb-folds", [r("*", "roles", RBAC)], "rb:lab", {"RBAC-25"}),
    ("RBAC-17", [r("escalate", "roles", RBAC)], "rb:lab", {"RBAC-17"}),
    ("RBAC-18", [r("create", "roles", RBAC)], "rb:lab", {"RBAC-18"}),
    ("RBAC-18-folds-into-17", [r("create,escalate", "roles", RBAC)], "rb:lab", {"RBAC-17"}),
    ("RBAC-19", [r("patch", "rolebindings", RBAC)], "rb:lab", {"RBAC-19"}),
    (
        "RBAC-20-approval",
        [r("update", "certificatesigningrequests/approval", "certificates.k8s.io")],
        "crb",
        {"RBAC-20"},
    ),
    ("RBAC-20-signers", [r("approve", "signers", "certificates.k8s.io")], "crb", {"RBAC-20"}),
    ("RBAC-20-not-via-rb", [r("approve", "signers", "certificates.k8s.io")], "rb:lab", set()),
    (
        "RBAC-21",
        [r("patch", "mutatingwebhookconfigurations", "admissionregistration.k8s.io")],
        "crb",
        {"RBAC-21"},
    ),
    ("RBAC-22", [r("list", "*")], "rb:lab", {"RBAC-22"}),
    ("RBAC-23", [r("create", "*")], "rb:lab", {"RBAC-23"}),
    ("RBAC-24", [r("delete", "*")], "rb:lab", {"RBAC-24"}),
    ("RBAC-25", [r("*", "secrets")], "rb:lab", {"RBAC-25"}),
    ("RBAC-26", [r("patch", "pods/status")], "rb:lab", {"RBAC-26"}),
    ("RBAC-27", [r("patch", "services/status")], "rb:lab", {"RBAC-27"}),
    ("RBAC-28", [r("create", "persistentvolumes")], "crb", {"RBAC-28"}),
    ("RBAC-29", [r("patch", "namespaces")], "crb", {"RBAC-29"}),
    ("RBAC-35", [r("delete", "customresourcedefinitions", "apiextensions.k8s.io")], "crb", {"RBAC-35"}),
    ("RBAC-36", [r("update", "*")], "rb:lab", {"RBAC-36"}),
    # Bugs of existing tools (reference §2) that must not be repeated:
    ("core-literal-group-is-not-core", [r("get", "secrets", "core")], "crb", set()),
    ("crd-secrets-other-group", [r("get", "secrets", "example.com")], "crb", set()),
    ("apiGroups-not-ignored", [r("create", "pods", "apps")], "crb", set()),
    ("extensions-deployments-dead", [r("create", "deployments", "extensions")], "rb:lab", set()),
    ("pods-slash-star-is-literal", [r("create", "pods/*")], "rb:lab", set()),
    ("names-cannot-narrow-create", [r("create", "pods", names="p")], "rb:lab", set()),
    ("star-resources-other-group", [r("get,create", "*", "apps")], "rb:lab", {"RBAC-08"}),
    ("non-resource-urls-only", [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "crb", set()),
]


@pytest.mark.parametrize(("rules", "where", "expected"), [pytest.param(*p[1:], id=p[0]) for p in PATTERNS])
def test_pattern_table(rules: list[dict[str, Any]], where: str, expected: set[str]) -> None:
    assert {f.pattern for f in audit_rules(rules, where).findings} == expected


def test_pattern_table_covers_every_rule_pattern() -> None:
    catalog = load_catalog()
    rule_patterns = {p.id for p in catalog.patterns.values() if not p.structural}
    assert rule_patterns <= {p for row in PATTERNS for p in row[3]}


SEVERITY_CASES = [
    ("get-secrets-namespace", [r("get", "secrets")], "rb:lab", "RBAC-03", "high"),
    ("get-secrets-kube-system", [r("get", "secrets")], "rb:kube-system", "RBAC-03", "critical"),
    ("get-secrets-cluster-wide", [r("get", "secrets")], "crb", "RBAC-03", "critical"),
    ("token-namespace", [r("create", "serviceaccounts/token")], "rb:lab", "RBAC-06", "medium"),
    ("token-kube-system", [r("create", "serviceaccounts/token")], "rb:kube-system", "RBAC-06", "critical"),
    ("patch-pods-namespace", [r("patch", "pods")], "rb:lab", "RBAC-09", "medium"),
    ("patch-pods-cluster", [r("patch", "pods")], "crb", "RBAC-09", "high"),
    ("namespace-wildcard-kube-system", [r("*", "*", "*")], "rb:kube-system", "RBAC-02", "critical"),
    ("narrowed-namespace", [r("get", "secrets", names="db")], "rb:lab", "RBAC-03", "low"),
    ("narrowed-cluster", [r("get", "secrets", names="db")], "crb", "RBAC-03", "medium"),
    ("narrowed-list-field-selector", [r("list", "secrets", names="db")], "rb:lab", "RBAC-04", "low"),
    ("narrowed-exec-named-pod", [r("create", "pods/exec", names="p")], "rb:lab", "RBAC-10", "low"),
    ("low-pattern-stays-low", [r("patch", "pods/status")], "crb", "RBAC-26", "low"),
]


@pytest.mark.parametrize(
    ("rules", "where", "pattern", "severity"), [pytest.param(*c[1:], id=c[0]) for c in SEVERITY_CASES]
)
def test_severity(rules: list[dict[str, Any]], where: str, pattern: str, severity: str) -> None:
    result = audit_rules(rules, where)
    assert [f.severity for f in result.findings if f.pattern == pattern] == [severity]


def test_narrowed_flag_and_reason() -> None:
    finding = one(audit_rules([r("get", "secrets", names="*")]), "RBAC-03", "ServiceAccount:lab/app")
    assert finding.narrowed and "literal" in finding.reason
    full = one(
        audit_rules([r("get", "secrets", names="*"), r("get", "secrets")]),
        "RBAC-03",
        "ServiceAccount:lab/app",
    )
    assert not full.narrowed and full.severity == "high" and len(full.rules) == 2


def test_privileged_namespaces_are_configurable() -> None:
    result = audit_rules([r("get", "secrets")], "rb:platform", privileged_namespaces=["platform"])
    assert [f.severity for f in result.findings] == ["critical"]
    result = audit_rules([r("get", "secrets")], "rb:kube-system", privileged_namespaces=[])
    assert [f.severity for f in result.findings] == ["high"]


GROUPS = [
    ("sa-namespace-group", "system:serviceaccounts:lab", {("RBAC-03", "critical"), ("RBAC-32", "critical")}),
    ("all-sa-group", "system:serviceaccounts", {("RBAC-03", "critical"), ("RBAC-32", "critical")}),
    ("authenticated", "system:authenticated", {("RBAC-03", "critical"), ("RBAC-32", "critical")}),
    ("unauthenticated", "system:unauthenticated", {("RBAC-30", "critical")}),
    ("unrelated-group", "developers", set()),
    ("prefix-without-namespace", "system:serviceaccounts:", set()),
]


@pytest.mark.parametrize(("group", "expected"), [pytest.param(*g[1:], id=g[0]) for g in GROUPS])
def test_group_subjects(group: str, expected: set[tuple[str, str]]) -> None:
    result = audit_rules([r("get", "secrets")], subjects=[{"kind": "Group", "apiGroup": RBAC, "name": group}])
    assert {(f.pattern, f.severity) for f in result.findings} == expected
    assert all(f.subject.kind == "Group" and f.subject.namespace is None for f in result.findings)


def test_group_with_benign_role_is_info() -> None:
    subjects = [{"kind": "Group", "apiGroup": RBAC, "name": "system:serviceaccounts"}]
    result = audit_rules([r("get", "configmaps")], "crb", subjects=subjects)
    assert {(f.pattern, f.severity) for f in result.findings} == {("RBAC-32", "info")}


def test_missing_role_with_group_subject_is_raised() -> None:
    binding = {
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "b"},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "ghost"},
        "subjects": [{"kind": "Group", "name": "system:serviceaccounts"}],
    }
    assert [(f.pattern, subject_text(f), f.severity) for f in audit([binding]).findings] == [
        ("RBAC-33", "Group:system:serviceaccounts", "high")
    ]


def test_cluster_admin_covers_narrower_patterns() -> None:
    finding = one(
        audit(load_file(FIXTURES / "unused-sa-cluster-admin.yaml")), "RBAC-01", "ServiceAccount:lab/unused"
    )
    assert {"RBAC-03", "RBAC-07", "RBAC-14", "RBAC-15", "RBAC-16", "RBAC-17"} <= set(finding.covers)
    assert "RBAC-01" not in finding.covers and "narrower patterns" in finding.reason


def test_folding_needs_the_same_rule() -> None:
    result = audit_rules([r("get,list,watch", "*"), r("create", "pods")])
    assert {f.pattern for f in result.findings} == {"RBAC-22", "RBAC-07"}


def test_aggregated_rule_names_its_source() -> None:
    result = audit(load_file(FIXTURES / "aggregate-to-edit.yaml"))
    finding = one(result, "RBAC-25", "ServiceAccount:lab/ci")
    assert finding.role.name == "edit" and finding.rules[0]["source"] == "ClusterRole/secrets-everything"
    assert "secrets-everything" in one(result, "RBAC-31", "ServiceAccount:lab/ci").reason
    assert any("view-extra" in w and "RBAC-31" in w for w in result.warnings)


def test_rendered_aggregated_role_still_reports_custom_contributor() -> None:
    objects = load_file(FIXTURES / "aggregate-to-edit.yaml")
    for obj in objects:
        if isinstance(obj, dict) and obj["metadata"]["name"] == "edit":
            obj["rules"] = [r("create", "pods")]  # as rendered by the aggregation controller
    result = audit(objects)
    assert {f.pattern for f in result.findings} == {"RBAC-07", "RBAC-31"}


def test_folding_never_hides_a_more_severe_pattern() -> None:
    data = yaml.safe_load(CATALOG_PATH.read_text())
    for entry in data["patterns"]:
        if entry["id"] == "RBAC-02":
            entry["severity"] = "low"  # a course author lowers it: RBAC-02 must not swallow high findings
    result = audit_rules([r("*", "*", "*")], "rb:lab", catalog=Catalog(data))
    assert {(f.pattern, f.severity) for f in result.findings} == {
        ("RBAC-02", "low"),
        ("RBAC-22", "high"),
        ("RBAC-23", "high"),
        ("RBAC-24", "high"),
        ("RBAC-25", "high"),
        ("RBAC-36", "high"),
    }
    assert one(result, "RBAC-02", "ServiceAccount:lab/app").covers == ("RBAC-26",)
    assert "RBAC-03" in one(result, "RBAC-25", "ServiceAccount:lab/app").covers

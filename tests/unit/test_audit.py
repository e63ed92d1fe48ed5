"""The audit: fixtures per subtlety, a table row per catalog pattern, severities, flags, malformed input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from labsetup.audit import AuditResult, Finding, Policy, audit, load_file, parse_text
from labsetup.audit_catalog import CATALOG_PATH, SEVERITIES, Catalog, load_catalog, raise_severity
from labsetup.audit_input import to_plain
from labsetup.errors import InputError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rbac"
RBAC = "rbac.authorization.k8s.io"


def subject_text(f: Finding) -> str:
    s = f.subject
    return f"{s.kind}:{s.namespace}/{s.name}" if s.namespace else f"{s.kind}:{s.name}"


def binding_text(f: Finding) -> str:
    b = f.binding
    return f"{b.kind}:{b.namespace}/{b.name}" if b.namespace else f"{b.kind}:{b.name}"


def summary(result: AuditResult) -> set[tuple[str, str, str, str]]:
    return {(f.pattern, subject_text(f), binding_text(f), f.severity) for f in result.findings}


def one(result: AuditResult, pattern: str, subject: str) -> Finding:
    found = [f for f in result.findings if f.pattern == pattern and subject_text(f) == subject]
    assert len(found) == 1, [(f.pattern, subject_text(f)) for f in result.findings]
    return found[0]


# Every finding each fixture must produce, and nothing else: (pattern, subject, binding, severity).
FIXTURE_CASES = [
    pytest.param(
        "star-exec.yaml",
        {("RBAC-10", "ServiceAccount:lab/runner", "RoleBinding:lab/exec-anything", "high")},
        id="star-exec",
    ),
    pytest.param(
        "pods-exec-core.yaml",
        {("RBAC-10", "ServiceAccount:lab/debugger", "RoleBinding:lab/debug", "high")},
        id="pods-exec-core-group-and-pods-slash-star",
    ),
    pytest.param(
        "apps-deployments.yaml",
        {("RBAC-08", "ServiceAccount:lab/deployer", "RoleBinding:lab/deployer", "high")},
        id="apps-deployments-not-extensions",
    ),
    pytest.param(
        "rolebinding-clusterrole-secrets.yaml",
        {("RBAC-03", "ServiceAccount:a/reader", "RoleBinding:a/read-secrets", "high")},
        id="rolebinding-clusterrole-secrets-scoped",
    ),
    pytest.param(
        "rolebinding-clusterrole-nodes-proxy.yaml",
        {("RBAC-14", "ServiceAccount:ops/metrics", "ClusterRoleBinding:node-proxy", "critical")},
        id="rolebinding-clusterrole-nodes-proxy-nothing",
    ),
    pytest.param(
        "group-serviceaccounts-namespace.yaml",
        {
            (
                "RBAC-07",
                "Group:system:serviceaccounts:lab",
                "ClusterRoleBinding:lab-pod-creators",
                "critical",
            ),
            (
                "RBAC-32",
                "Group:system:serviceaccounts:lab",
                "ClusterRoleBinding:lab-pod-creators",
                "critical",
            ),
        },
        id="group-serviceaccounts-lab",
    ),
    pytest.param(
        "rolebinding-sa-without-namespace.yaml",
        {("RBAC-04", "ServiceAccount:team/worker", "RoleBinding:team/list-secrets", "high")},
        id="sa-without-namespace",
    ),
    pytest.param(
        "missing-clusterrole.yaml",
        {
            ("RBAC-33", "ServiceAccount:lab/app", "ClusterRoleBinding:ghost-binding", "medium"),
            ("RBAC-33", "ServiceAccount:lab/app", "RoleBinding:lab/ghost-role", "medium"),
        },
        id="missing-role-ghost",
    ),
    pytest.param(
        "aggregate-to-edit.yaml",
        {
            ("RBAC-25", "ServiceAccount:lab/ci", "RoleBinding:lab/ci-edit", "high"),
            ("RBAC-07", "ServiceAccount:lab/ci", "RoleBinding:lab/ci-edit", "high"),
            ("RBAC-31", "ServiceAccount:lab/ci", "RoleBinding:lab/ci-edit", "medium"),
        },
        id="aggregate-to-edit",
    ),
    pytest.param(
        "resource-names-star.yaml",
        {("RBAC-03", "ServiceAccount:lab/narrow", "RoleBinding:lab/star-name", "low")},
        id="resource-names-star-literal",
    ),
    pytest.param(
        "unused-sa-cluster-admin.yaml",
        {("RBAC-01", "ServiceAccount:lab/unused", "ClusterRoleBinding:unused-admin", "critical")},
        id="unused-sa-cluster-admin",
    ),
    pytest.param(
        "two-sa-subjects.json",
        {
            ("RBAC-04", "ServiceAccount:lab/alpha", "ClusterRoleBinding:two-sas", "critical"),
            ("RBAC-04", "ServiceAccount:lab/beta", "ClusterRoleBinding:two-sas", "critical"),
            ("RBAC-04", "ServiceAccount:lab/gamma", "RoleBinding:lab/ns-reader", "high"),
        },
        id="two-sa-subjects-and-rolebinding",
    ),
    pytest.param(
        "default-account.yaml",
        {
            ("RBAC-07", "ServiceAccount:lab/default", "RoleBinding:lab/default-pods", "high"),
            ("RBAC-07", "ServiceAccount:lab/builder", "RoleBinding:lab/default-pods", "high"),
        },
        id="default-account",
    ),
    pytest.param(
        "bootstrap-defaults.yaml",
        {
            ("RBAC-01", "ServiceAccount:evil/sa", "ClusterRoleBinding:system:evil-admin", "critical"),
            ("RBAC-01", "ServiceAccount:kube-system/kindnet", "ClusterRoleBinding:kindnet", "critical"),
            (
                "RBAC-22",
                "ServiceAccount:kube-system/generic-garbage-collector",
                "ClusterRoleBinding:system:controller:generic-garbage-collector",
                "critical",
            ),
            (
                "RBAC-36",
                "ServiceAccount:kube-system/generic-garbage-collector",
                "ClusterRoleBinding:system:controller:generic-garbage-collector",
                "critical",
            ),
            (
                "RBAC-24",
                "ServiceAccount:kube-system/generic-garbage-collector",
                "ClusterRoleBinding:system:controller:generic-garbage-collector",
                "high",
            ),
        },
        id="bootstrap-defaults",
    ),
    pytest.param(
        "kind-defaults.yaml",
        {
            (
                "RBAC-25",
                "ServiceAccount:local-path-storage/local-path-provisioner-service-account",
                "ClusterRoleBinding:local-path-provisioner-bind",
                "critical",
            ),
            (
                "RBAC-28",
                "ServiceAccount:local-path-storage/local-path-provisioner-service-account",
                "ClusterRoleBinding:local-path-provisioner-bind",
                "high",
            ),
        },
        id="kind-defaults",
    ),
    pytest.param(
        "anonymous.yaml",
        {
            ("RBAC-30", "User:system:anonymous", "RoleBinding:lab/anonymous-secrets", "critical"),
            (
                "RBAC-30",
                "Group:system:unauthenticated",
                "ClusterRoleBinding:system:public-info-viewer",
                "low",
            ),
            ("RBAC-32", "Group:system:authenticated", "ClusterRoleBinding:system:public-info-viewer", "info"),
        },
        id="anonymous",
    ),
    pytest.param(
        "dangling-sa.yaml",
        {
            (
                "RBAC-34",
                "ServiceAccount:kube-system/kube-dns",
                "ClusterRoleBinding:system:kube-dns",
                "medium",
            ),
            ("RBAC-34", "ServiceAccount:lab/gone", "RoleBinding:lab/gone", "low"),
        },
        id="dangling-sa-known-namespaces-only",
    ),
    pytest.param(
        "user-sa-form.yaml",
        {("RBAC-10", "ServiceAccount:lab/app", "ClusterRoleBinding:app-exec", "critical")},
        id="user-sa-form-deduplicated",
    ),
    pytest.param(
        "malformed.yaml",
        {
            ("RBAC-07", "ServiceAccount:lab/still-audited", "RoleBinding:lab/partly-bad", "high"),
            ("RBAC-33", "ServiceAccount:lab/still-audited", "RoleBinding:lab/missing-role", "medium"),
        },
        id="malformed",
    ),
]


@pytest.mark.parametrize(("fixture", "expected"), FIXTURE_CASES)
def test_fixture_findings(fixture: str, expected: set[tuple[str, str, str, str]]) -> None:
    result = audit(load_file(FIXTURES / fixture))
    assert summary(result) == expected
    assert len(result.findings) == len(expected)  # one finding per subject x binding x pattern


def test_same_account_listed_twice_is_reported_once() -> None:
    result = audit(load_file(FIXTURES / "user-sa-form.yaml"))
    finding = one(result, "RBAC-10", "ServiceAccount:lab/app")
    assert finding.bound_as == "User" and len(result.findings) == 1


def test_every_fixture_is_covered() -> None:
    tested = {p.values[0] for p in FIXTURE_CASES}
    captured = {p.name for p in FIXTURES.glob("live-*.json")}  # tested in test_audit_live_fixture.py
    assert captured and tested == {p.name for p in FIXTURES.iterdir()} - captured


# ---------- flags: default account, platform defaults ----------


def test_default_account_flag() -> None:
    result = audit(load_file(FIXTURES / "default-account.yaml"))
    assert one(result, "RBAC-07", "ServiceAccount:lab/default").default_account is True
    assert one(result, "RBAC-07", "ServiceAccount:lab/builder").default_account is False


@pytest.mark.parametrize(
    ("fixture", "binding", "system"),
    [
        pytest.param(
            "bootstrap-defaults.yaml",
            "ClusterRoleBinding:system:controller:generic-garbage-collector",
            True,
            id="bootstrap-label",
        ),
        pytest.param(
            "bootstrap-defaults.yaml", "ClusterRoleBinding:system:evil-admin", False, id="system-prefix-alone"
        ),
        pytest.param(
            "bootstrap-defaults.yaml", "ClusterRoleBinding:kindnet", False, id="allowlisted-name-wrong-role"
        ),
        pytest.param(
            "kind-defaults.yaml", "ClusterRoleBinding:local-path-provisioner-bind", True, id="kind-allowlist"
        ),
        pytest.param("dangling-sa.yaml", "RoleBinding:lab/gone", False, id="custom-binding"),
    ],
)
def test_system_flag(fixture: str, binding: str, system: bool) -> None:
    flags = {f.system for f in audit(load_file(FIXTURES / fixture)).findings if binding_text(f) == binding}
    assert flags == {system}


def test_exclude_system() -> None:
    objects = load_file(FIXTURES / "bootstrap-defaults.yaml")
    full, trimmed = audit(objects), audit(objects, exclude_system=True)
    assert any(f.system for f in full.findings)
    assert not any(f.system for f in trimmed.findings)
    assert trimmed.excluded == len(full.findings) - len(trimmed.findings) == 3
    assert {subject_text(f) for f in trimmed.findings} == {
        "ServiceAccount:evil/sa",
        "ServiceAccount:kube-system/kindnet",
    }


# ---------- input handling and result shape ----------


def test_malformed_input_becomes_warnings() -> None:
    result = audit(load_file(FIXTURES / "malformed.yaml"))
    expected = [
        "not an object (str)",
        "not an object (int)",
        "metadata.name missing",
        "namespace missing",
        "rules is not a list",
        "rule 0 skipped",
        "rule 1 skipped",
        "subject 1 malformed",
        "subject 4 malformed",
        "no-subjects: no subjects",
        "subjects is not a list",
        "no-roleref: roleRef missing",
        "cannot reference a Role",
        "aggregationRule",
        "unknown selector operator 'Near'",
        "1 Pod, 1 without kind",
    ]
    for fragment in expected:
        assert any(fragment in w for w in result.warnings), fragment


def test_sa_without_namespace_in_clusterrolebinding_warns() -> None:
    result = audit(load_file(FIXTURES / "rolebinding-sa-without-namespace.yaml"))
    assert [w for w in result.warnings if "orphan-subject" in w and "no namespace" in w]


@pytest.mark.parametrize(
    "objects",
    [
        pytest.param([None, 1, "x", [], {}], id="junk"),
        pytest.param(
            [
                {
                    "kind": "RoleBinding",
                    "metadata": {"name": "b", "namespace": "n"},
                    "roleRef": "oops",
                    "subjects": [{"kind": "ServiceAccount", "name": "a"}],
                }
            ],
            id="roleref-string",
        ),
        pytest.param(
            [{"kind": "ClusterRole", "metadata": {"name": "r", "labels": "x"}, "rules": [None]}],
            id="labels-string",
        ),
        pytest.param(
            [
                {
                    "kind": "ClusterRole",
                    "metadata": {"name": "r"},
                    "aggregationRule": {"clusterRoleSelectors": 5},
                },
                {
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": "b"},
                    "roleRef": {"kind": "ClusterRole", "name": "r"},
                    "subjects": [{"kind": "ServiceAccount", "name": "a", "namespace": "n"}],
                },
            ],
            id="selectors-not-list",
        ),
        pytest.param(
            [{"kind": "List", "items": [{"kind": "Role", "metadata": {"name": 5, "namespace": "n"}}]}],
            id="name-not-string",
        ),
    ],
)
def test_junk_never_raises(objects: list[object]) -> None:
    result = audit(objects)
    assert result.warnings


def test_typed_list_items_get_their_kind() -> None:
    text = json.dumps(
        {
            "kind": "ClusterRoleBindingList",
            "items": [
                {
                    "metadata": {"name": "b"},
                    "roleRef": {"kind": "ClusterRole", "name": "ghost"},
                    "subjects": [{"kind": "ServiceAccount", "name": "a", "namespace": "n"}],
                }
            ],
        }
    )
    assert summary(audit(parse_text(text))) == {
        ("RBAC-33", "ServiceAccount:n/a", "ClusterRoleBinding:b", "medium")
    }


def test_yaml_and_json_give_the_same_result() -> None:
    objects = load_file(FIXTURES / "aggregate-to-edit.yaml")
    as_json = parse_text(json.dumps({"kind": "List", "items": objects}))
    assert summary(audit(as_json)) == summary(audit(objects))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("{not: [valid", "unable to parse", id="broken-yaml"),
        pytest.param("", "no Kubernetes objects", id="empty"),
        pytest.param("just words", "no Kubernetes objects", id="scalar"),
        pytest.param("[]", "no Kubernetes objects", id="empty-list"),
    ],
)
def test_parse_text_rejects_non_dumps(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_text(text)


def test_load_file_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unable to read"):
        load_file(tmp_path / "absent.json")


def test_explicit_service_accounts_enable_dangling_check_everywhere() -> None:
    objects = load_file(FIXTURES / "dangling-sa.yaml")
    result = audit(objects, service_accounts=[("kube-system", "kube-dns")])
    assert {(f.pattern, subject_text(f)) for f in result.findings} == {
        ("RBAC-34", "ServiceAccount:lab/gone"),
        ("RBAC-34", "ServiceAccount:other/unknown"),
    }


def test_no_service_accounts_no_dangling_findings() -> None:
    objects = [o for o in load_file(FIXTURES / "dangling-sa.yaml") if o.get("kind") != "ServiceAccount"]  # type: ignore[union-attr]
    assert not audit(objects).findings


def test_finding_json_shape() -> None:
    data = audit(load_file(FIXTURES / "anonymous.yaml")).to_dict()
    assert set(data) == {"findings", "warnings"}
    json.dumps(data)
    required = {"subject", "binding", "role", "severity", "pattern", "scope", "reason"}
    for finding in data["findings"]:
        assert required <= set(finding)
        assert set(finding["subject"]) == {"kind", "namespace", "name"}
        assert set(finding["binding"]) == {"kind", "namespace", "name"}
        assert set(finding["role"]) == {"kind", "name"}
        assert finding["severity"] in SEVERITIES
    by_binding = {f["binding"]["name"]: f for f in data["findings"] if f["subject"]["kind"] == "User"}
    anon = by_binding["anonymous-secrets"]
    assert anon["binding"] == {"kind": "RoleBinding", "namespace": "lab", "name": "anonymous-secrets"}
    assert anon["subject"] == {"kind": "User", "namespace": None, "name": "system:anonymous"}
    assert anon["scope"] == "lab" and anon["covers"] == ["RBAC-03"]


def test_findings_sorted_most_severe_first() -> None:
    result = audit(load_file(FIXTURES / "anonymous.yaml"))
    assert [f.severity for f in result.findings] == ["critical", "low", "info"]
    assert [f.severity for f in result.at_or_above("low")] == ["critical", "low"]


def test_policy_can_be_reused() -> None:
    policy = Policy.from_objects(load_file(FIXTURES / "star-exec.yaml"))
    assert summary(audit(policy)) == summary(audit(policy))
    assert policy.can("system:serviceaccount:lab:runner", "create", "pods/exec", namespace="lab")


# ---------- the catalog ----------


def test_catalog_has_every_reference_pattern() -> None:
    catalog = load_catalog()
    assert {f"RBAC-{i:02d}" for i in range(1, 36)} <= set(catalog.patterns)
    for pattern in catalog.patterns.values():
        assert pattern.title and pattern.why and pattern.remediation, pattern.id
        assert pattern.severity in SEVERITIES and pattern.elevated in SEVERITIES


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        pytest.param(
            lambda d: d["patterns"][0].update(severity="urgent"), "unknown severity", id="bad-severity"
        ),
        pytest.param(
            lambda d: d["patterns"][3].update(covered_by=["RBAC-99"]), "RBAC-99", id="unknown-cover"
        ),
        pytest.param(lambda d: d["patterns"].append(dict(d["patterns"][0])), "duplicate", id="duplicate-id"),
        pytest.param(lambda d: d["patterns"][0].pop("match"), "match", id="no-match"),
    ],
)
def test_catalog_validation(mutate: Any, message: str) -> None:
    data = yaml.safe_load(CATALOG_PATH.read_text())
    mutate(data)
    with pytest.raises(InputError, match=message):
        Catalog(data)


@pytest.mark.parametrize(
    ("severity", "steps", "expected"),
    [("high", 1, "critical"), ("critical", 1, "critical"), ("info", -1, "info"), ("medium", -2, "info")],
)
def test_raise_severity(severity: str, steps: int, expected: str) -> None:
    assert raise_severity(severity, steps) == expected


def test_client_models_become_kubectl_shaped_dicts() -> None:
    from kubernetes import client

    api = client.ApiClient()
    role = client.V1ClusterRole(
        metadata=client.V1ObjectMeta(name="reader"),
        rules=[
            client.V1PolicyRule(verbs=["get"], api_groups=[""], resources=["secrets"], resource_names=["a"])
        ],
    )
    binding = client.V1ClusterRoleBinding(
        metadata=client.V1ObjectMeta(name="b"),
        role_ref=client.V1RoleRef(api_group=RBAC, kind="ClusterRole", name="reader"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="s", namespace="n")],
    )
    objects = to_plain(api, "ClusterRole", f"{RBAC}/v1", [role])
    objects += to_plain(api, "ClusterRoleBinding", f"{RBAC}/v1", [binding])
    assert objects[0]["rules"] == [
        {"apiGroups": [""], "resourceNames": ["a"], "resources": ["secrets"], "verbs": ["get"]}
    ]
    assert objects[1]["kind"] == "ClusterRoleBinding" and objects[1]["roleRef"]["name"] == "reader"
    assert summary(audit(objects)) == {("RBAC-03", "ServiceAccount:n/s", "ClusterRoleBinding:b", "medium")}

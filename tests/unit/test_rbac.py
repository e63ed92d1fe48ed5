"""RBAC semantics: rule matching, subjects, scoping, aggregation and `can`, as in the upstream authorizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from labsetup.audit_input import load_file
from labsetup.audit_policy import Policy, selector_matches
from labsetup.errors import InputError
from labsetup.rbac import Identity, PolicyRule, Subject, can, is_cluster_scoped, parse_sa_username

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rbac"


def rule(
    verbs: list[str], groups: list[str] | None = None, resources: list[str] | None = None, **kw: list[str]
) -> PolicyRule:
    data = {"verbs": verbs, "apiGroups": groups if groups is not None else [""], "resources": resources or []}
    data.update({"resourceNames": kw.get("names", []), "nonResourceURLs": kw.get("urls", [])})
    return PolicyRule.from_dict(data)


# (rule, (verb, group, resource, subresource, name), allowed)
ALLOWS = [
    pytest.param(
        rule(["*"], resources=["pods"]),
        ("escalate", "", "pods", "", ""),
        True,
        id="verb-star-matches-any-verb",
    ),
    pytest.param(rule(["get"], resources=["pods"]), ("get", "", "pods", "", ""), True, id="verb-exact"),
    pytest.param(rule(["get"], resources=["pods"]), ("list", "", "pods", "", ""), False, id="verb-other"),
    pytest.param(rule(["get"], ["*"], ["pods"]), ("get", "apps", "pods", "", ""), True, id="group-star"),
    pytest.param(
        rule(["get"], [""], ["secrets"]),
        ("get", "", "secrets", "", ""),
        True,
        id="core-group-is-empty-string",
    ),
    pytest.param(
        rule(["get"], ["core"], ["secrets"]),
        ("get", "", "secrets", "", ""),
        False,
        id="core-literal-is-not-core",
    ),
    pytest.param(
        rule(["get"], [""], ["secrets"]),
        ("get", "example.com", "secrets", "", ""),
        False,
        id="crd-secrets-other-group",
    ),
    pytest.param(
        rule(["create"], ["extensions"], ["deployments"]),
        ("create", "apps", "deployments", "", ""),
        False,
        id="extensions-is-not-apps",
    ),
    pytest.param(
        rule(["get"], resources=["*"]),
        ("get", "", "pods", "exec", ""),
        True,
        id="resource-star-covers-subresource",
    ),
    pytest.param(
        rule(["get"], resources=["pods"]), ("get", "", "pods", "exec", ""), False, id="pods-not-pods-exec"
    ),
    pytest.param(
        rule(["get"], resources=["pods/exec"]), ("get", "", "pods", "", ""), False, id="pods-exec-not-pods"
    ),
    pytest.param(
        rule(["create"], resources=["*/exec"]), ("create", "", "pods", "exec", ""), True, id="star-exec-pods"
    ),
    pytest.param(
        rule(["create"], resources=["*/exec"]), ("create", "", "nodes", "exec", ""), True, id="star-exec-any"
    ),
    pytest.param(
        rule(["create"], resources=["*/exec"]),
        ("create", "", "pods", "", ""),
        False,
        id="star-exec-not-parent",
    ),
    pytest.param(
        rule(["create"], resources=["*/exec"]),
        ("create", "", "pods", "attach", ""),
        False,
        id="star-exec-not-attach",
    ),
    pytest.param(
        rule(["create"], resources=["pods/*"]),
        ("create", "", "pods", "exec", ""),
        False,
        id="pods-slash-star-literal",
    ),
    pytest.param(
        rule(["create"], resources=["pods/*"]),
        ("create", "", "pods", "*", ""),
        True,
        id="pods-slash-star-self",
    ),
    pytest.param(
        rule(["create"], resources=["*/*"]),
        ("create", "", "pods", "exec", ""),
        False,
        id="star-slash-star-literal",
    ),
    pytest.param(
        rule(["get"], resources=["secrets"], names=["a"]),
        ("get", "", "secrets", "", "a"),
        True,
        id="names-listed",
    ),
    pytest.param(
        rule(["get"], resources=["secrets"], names=["a"]),
        ("get", "", "secrets", "", "b"),
        False,
        id="names-other",
    ),
    pytest.param(
        rule(["get"], resources=["secrets"], names=["*"]),
        ("get", "", "secrets", "", "b"),
        False,
        id="names-star-is-literal",
    ),
    pytest.param(
        rule(["get"], resources=["secrets"], names=["*"]),
        ("get", "", "secrets", "", "*"),
        True,
        id="names-star-matches-star",
    ),
    pytest.param(
        rule(["create"], resources=["pods"], names=["p"]),
        ("create", "", "pods", "", ""),
        False,
        id="names-cannot-narrow-collection-create",
    ),
    pytest.param(
        rule(["list"], resources=["secrets"], names=["a"]),
        ("list", "", "secrets", "", ""),
        False,
        id="names-list-without-field-selector",
    ),
    pytest.param(
        rule(["create"], resources=["serviceaccounts/token"], names=["x"]),
        ("create", "", "serviceaccounts", "token", "x"),
        True,
        id="names-narrow-subresource-create",
    ),
]


@pytest.mark.parametrize(("policy_rule", "request_", "expected"), ALLOWS)
def test_rule_allows(
    policy_rule: PolicyRule, request_: tuple[str, str, str, str, str], expected: bool
) -> None:
    assert policy_rule.allows(*request_) is expected


URLS = [
    pytest.param(["*"], "/anything", True, id="star-all"),
    pytest.param(["/healthz"], "/healthz", True, id="exact"),
    pytest.param(["/healthz"], "/healthz/etcd", False, id="exact-no-prefix"),
    pytest.param(["/api/*"], "/api/v1/pods", True, id="trailing-star-prefix"),
    pytest.param(["/api/*"], "/apis/apps", False, id="trailing-star-needs-prefix"),
    pytest.param(["/debug/*"], "/debugger", False, id="prefix-includes-slash"),
]


@pytest.mark.parametrize(("urls", "path", "expected"), URLS)
def test_rule_allows_url(urls: list[str], path: str, expected: bool) -> None:
    assert rule(["get"], urls=urls).allows_url("get", path) is expected
    assert rule(["list"], urls=urls).allows_url("get", path) is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param("verbs: [get]", "mapping", id="not-a-mapping"),
        pytest.param({"verbs": "get"}, "verbs", id="verbs-string"),
        pytest.param({"verbs": ["get"], "resources": [1]}, "resources", id="resource-int"),
    ],
)
def test_rule_from_dict_rejects_malformed(data: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        PolicyRule.from_dict(data)


def test_rule_round_trip_and_hash() -> None:
    data = {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"]}
    first, second = PolicyRule.from_dict(data), PolicyRule.from_dict(dict(data))
    assert first == second and hash(first) == hash(second) and len({first, second}) == 1
    assert first.to_dict() == data
    assert first != PolicyRule.from_dict({**data, "resourceNames": ["b"]})


@pytest.mark.parametrize(
    ("group", "resource", "expected"),
    [
        pytest.param("", "nodes", True, id="nodes"),
        pytest.param("", "nodes/proxy", True, id="nodes-proxy"),
        pytest.param("", "pods", False, id="pods"),
        pytest.param("example.com", "nodes", False, id="crd-named-nodes"),
        pytest.param("rbac.authorization.k8s.io", "clusterrolebindings", True, id="crb"),
        pytest.param("rbac.authorization.k8s.io", "rolebindings", False, id="rb"),
        pytest.param("", "serviceaccounts", False, id="impersonate-sa-is-namespaced"),
        pytest.param("", "users", True, id="impersonate-users"),
    ],
)
def test_is_cluster_scoped(group: str, resource: str, expected: bool) -> None:
    assert is_cluster_scoped(group, resource) is expected


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        pytest.param("system:serviceaccount:lab:app", ("lab", "app"), id="sa"),
        pytest.param("system:serviceaccount:lab", None, id="no-name"),
        pytest.param("system:serviceaccount::app", None, id="empty-namespace"),
        pytest.param("system:serviceaccount:lab:a:b", None, id="extra-colon"),
        pytest.param("system:serviceaccounts:lab", None, id="group-not-user"),
        pytest.param("alice", None, id="user"),
    ],
)
def test_parse_sa_username(user: str, expected: tuple[str, str] | None) -> None:
    assert parse_sa_username(user) == expected


def test_identity_groups() -> None:
    sa = Identity.parse("system:serviceaccount:lab:app")
    assert sa.groups == {"system:serviceaccounts", "system:serviceaccounts:lab", "system:authenticated"}
    assert Identity.parse("system:anonymous").groups == {"system:unauthenticated"}
    assert Identity.parse("alice").groups == {"system:authenticated"}


SA = Identity.service_account("lab", "app")
APPLIES = [
    pytest.param(Subject("ServiceAccount", "app", "lab"), "", True, id="sa-crb"),
    pytest.param(Subject("ServiceAccount", "app", ""), "lab", True, id="sa-no-namespace-rb-defaults"),
    pytest.param(Subject("ServiceAccount", "app", ""), "", False, id="sa-no-namespace-crb-matches-nothing"),
    pytest.param(Subject("ServiceAccount", "app", "other"), "lab", False, id="sa-other-namespace"),
    pytest.param(Subject("User", "system:serviceaccount:lab:app"), "", True, id="user-sa-form"),
    pytest.param(Subject("Group", "system:serviceaccounts:lab"), "", True, id="group-sa-namespace"),
    pytest.param(Subject("Group", "system:serviceaccounts:other"), "", False, id="group-other-namespace"),
    pytest.param(Subject("Group", "system:serviceaccounts"), "", True, id="group-all-sas"),
    pytest.param(Subject("Group", "system:authenticated"), "", True, id="group-authenticated"),
    pytest.param(Subject("Group", "system:unauthenticated"), "", False, id="group-unauthenticated"),
    pytest.param(Subject("Robot", "app"), "", False, id="unknown-kind"),
]


@pytest.mark.parametrize(("subject", "binding_namespace", "expected"), APPLIES)
def test_subject_applies_to_service_account(subject: Subject, binding_namespace: str, expected: bool) -> None:
    assert subject.applies_to(SA, binding_namespace) is expected


def policy(name: str) -> Policy:
    return Policy.from_objects(load_file(FIXTURES / name))


CAN = [
    pytest.param(
        "rolebinding-clusterrole-secrets.yaml",
        "system:serviceaccount:a:reader",
        "get",
        "secrets",
        {"namespace": "a"},
        True,
        id="rb-clusterrole-secrets-in-binding-namespace",
    ),
    pytest.param(
        "rolebinding-clusterrole-secrets.yaml",
        "system:serviceaccount:a:reader",
        "get",
        "secrets",
        {"namespace": "b"},
        False,
        id="rb-clusterrole-secrets-other-namespace",
    ),
    pytest.param(
        "rolebinding-clusterrole-secrets.yaml",
        "system:serviceaccount:a:reader",
        "get",
        "secrets",
        {},
        False,
        id="rb-clusterrole-secrets-all-namespaces",
    ),
    pytest.param(
        "rolebinding-clusterrole-nodes-proxy.yaml",
        "system:serviceaccount:a:metrics",
        "get",
        "nodes/proxy",
        {"namespace": "a"},
        False,
        id="rb-nodes-proxy-nothing",
    ),
    pytest.param(
        "rolebinding-clusterrole-nodes-proxy.yaml",
        "system:serviceaccount:a:metrics",
        "get",
        "",
        {"path": "/metrics"},
        False,
        id="rb-non-resource-url-nothing",
    ),
    pytest.param(
        "rolebinding-clusterrole-nodes-proxy.yaml",
        "system:serviceaccount:ops:metrics",
        "get",
        "nodes/proxy",
        {},
        True,
        id="crb-nodes-proxy",
    ),
    pytest.param(
        "rolebinding-clusterrole-nodes-proxy.yaml",
        "system:serviceaccount:ops:metrics",
        "get",
        "",
        {"path": "/debug/pprof"},
        True,
        id="crb-url-prefix",
    ),
    pytest.param(
        "group-serviceaccounts-namespace.yaml",
        "system:serviceaccount:lab:anyone",
        "create",
        "pods",
        {"namespace": "elsewhere"},
        True,
        id="group-sa-namespace-member",
    ),
    pytest.param(
        "group-serviceaccounts-namespace.yaml",
        "system:serviceaccount:other:anyone",
        "create",
        "pods",
        {"namespace": "elsewhere"},
        False,
        id="group-sa-namespace-non-member",
    ),
    pytest.param(
        "rolebinding-sa-without-namespace.yaml",
        "system:serviceaccount:team:worker",
        "list",
        "secrets",
        {"namespace": "team"},
        True,
        id="sa-without-namespace-rb",
    ),
    pytest.param(
        "rolebinding-sa-without-namespace.yaml",
        "system:serviceaccount:team:worker",
        "get",
        "pods",
        {"namespace": "team"},
        False,
        id="sa-without-namespace-crb-nothing",
    ),
    pytest.param(
        "resource-names-star.yaml",
        "system:serviceaccount:lab:narrow",
        "get",
        "secrets",
        {"namespace": "lab", "name": "db"},
        False,
        id="names-star-not-wildcard",
    ),
    pytest.param(
        "resource-names-star.yaml",
        "system:serviceaccount:lab:narrow",
        "get",
        "secrets",
        {"namespace": "lab", "name": "*"},
        True,
        id="names-star-literal",
    ),
    pytest.param(
        "star-exec.yaml",
        "system:serviceaccount:lab:runner",
        "create",
        "pods/exec",
        {"namespace": "lab"},
        True,
        id="star-exec",
    ),
    pytest.param(
        "pods-exec-core.yaml",
        "system:serviceaccount:lab:debugger",
        "patch",
        "pods/status",
        {"namespace": "lab"},
        False,
        id="pods-slash-star-not-status",
    ),
    pytest.param(
        "aggregate-to-edit.yaml",
        "system:serviceaccount:lab:ci",
        "delete",
        "secrets",
        {"namespace": "lab"},
        True,
        id="aggregated-custom-rule",
    ),
    pytest.param(
        "aggregate-to-edit.yaml",
        "system:serviceaccount:lab:ci",
        "delete",
        "secrets",
        {"namespace": "other"},
        False,
        id="aggregated-rb-scoped",
    ),
    pytest.param(
        "missing-clusterrole.yaml",
        "system:serviceaccount:lab:app",
        "get",
        "pods",
        {"namespace": "lab"},
        False,
        id="missing-role-grants-nothing",
    ),
    pytest.param(
        "unused-sa-cluster-admin.yaml",
        "system:serviceaccount:lab:unused",
        "impersonate",
        "groups",
        {},
        True,
        id="cluster-admin-impersonate",
    ),
]


@pytest.mark.parametrize(("fixture", "who", "verb", "resource", "request_", "expected"), CAN)
def test_can(
    fixture: str, who: str, verb: str, resource: str, request_: dict[str, str], expected: bool
) -> None:
    decision = policy(fixture).can(who, verb, resource, **request_)
    assert bool(decision) is expected
    assert bool(decision.reasons) is expected


def test_can_reason_names_binding_and_rule() -> None:
    decision = can(
        policy("star-exec.yaml").grants(),
        "system:serviceaccount:lab:runner",
        "create",
        "pods/exec",
        namespace="lab",
    )
    assert decision.reasons == (
        "RoleBinding lab/exec-anything -> Role exec-anything: "
        "{'verbs': ['create'], 'apiGroups': [''], 'resources': ['*/exec']}",
    )


AGG_OBJECTS: list[object] = [
    {
        "kind": "ClusterRole",
        "metadata": {"name": "admin"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"to-admin": "true"}}]},
    },
    {
        "kind": "ClusterRole",
        "metadata": {"name": "edit", "labels": {"to-admin": "true"}},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"to-edit": "true"}}]},
    },
    {
        "kind": "ClusterRole",
        "metadata": {"name": "piece", "labels": {"to-edit": "true"}},
        "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}],
    },
    {
        "kind": "ClusterRole",
        "metadata": {"name": "admin-piece", "labels": {"to-admin": "true"}},
        "rules": [{"verbs": ["create"], "apiGroups": [""], "resources": ["pods"]}],
    },
    {
        "kind": "ClusterRole",
        "metadata": {"name": "rendered", "labels": {"to-admin": "true"}},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"to-edit": "true"}}]},
        "rules": [{"verbs": ["list"], "apiGroups": [""], "resources": ["configmaps"]}],
    },
    {
        "kind": "ClusterRole",
        "metadata": {"name": "loop-a", "labels": {"loop": "b"}},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"loop": "a"}}]},
    },
    {
        "kind": "ClusterRole",
        "metadata": {"name": "loop-b", "labels": {"loop": "a"}},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"loop": "b"}}]},
    },
]


def _effective(name: str) -> set[tuple[str, str]]:
    p = Policy.from_objects(AGG_OBJECTS)
    return {(s.rule.resources[0], s.source) for s in p.effective_rules(p.roles[("ClusterRole", "", name)])}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("edit", {("secrets", "ClusterRole/piece")}, id="edit-union"),
        pytest.param(
            "admin",
            {
                ("secrets", "ClusterRole/piece"),
                ("pods", "ClusterRole/admin-piece"),
                ("configmaps", "ClusterRole/rendered"),
            },
            id="admin-nested-union",
        ),
        pytest.param("rendered", {("configmaps", "ClusterRole/rendered")}, id="rendered-rules-used"),
        pytest.param("loop-a", set(), id="cycle-terminates"),
    ],
)
def test_aggregation(name: str, expected: set[tuple[str, str]]) -> None:
    assert _effective(name) == expected


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        pytest.param({}, {"a": "1"}, True, id="empty-selects-all"),
        pytest.param({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True, id="match-labels"),
        pytest.param({"matchLabels": {"a": "1"}}, {"a": "2"}, False, id="match-labels-value"),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]},
            {"a": "2"},
            True,
            id="in",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]},
            {"a": "1"},
            False,
            id="not-in",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]},
            {},
            True,
            id="not-in-absent",
        ),
        pytest.param({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False, id="exists"),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {}, True, id="does-not-exist"
        ),
    ],
)
def test_selector_matches(selector: dict[str, object], labels: dict[str, str], expected: bool) -> None:
    assert selector_matches(selector, labels) is expected


def test_selector_unknown_operator() -> None:
    with pytest.raises(InputError, match="Near"):
        selector_matches({"matchExpressions": [{"key": "a", "operator": "Near"}]}, {"a": "1"})

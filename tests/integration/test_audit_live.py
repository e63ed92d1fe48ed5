"""The auditor against the live cluster: planted risky bindings found exactly, and its RBAC
answers agree with the API server's own SubjectAccessReview."""

from __future__ import annotations

import time

import pytest

from labsetup import manifests
from labsetup.audit import audit, load_from_cluster
from labsetup.audit_policy import Policy
from labsetup.rbac import Identity
from labsetup.seed_query import fixed_query, seed_query

pytestmark = pytest.mark.live


def sar(lab, namespace, account, verb, resource, subresource="", group="", name=""):
    from kubernetes.client import AuthorizationV1Api

    who = Identity.service_account(namespace, account)
    review = AuthorizationV1Api(lab.api_client).create_subject_access_review(
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": who.user,
                "groups": sorted(who.groups),
                "resourceAttributes": {
                    "namespace": namespace,
                    "verb": verb,
                    "group": group,
                    "resource": resource,
                    "subresource": subresource,
                    "name": name,
                },
            },
        }
    )
    return who, review.status


@pytest.fixture
def planted(lab, namespace):
    objects = manifests.apply(lab, "05-risky-bindings", namespace)
    # The authorizer's caches see new bindings a moment later: wait for the last one planted.
    deadline = time.monotonic() + 15
    while not sar(lab, namespace, "web", "delete", "pods")[1].allowed and time.monotonic() < deadline:
        time.sleep(0.1)
    yield {o["metadata"]["name"] for o in objects if o["kind"].endswith("Binding")}
    manifests.delete(lab, "05-risky-bindings", namespace)


def test_planted_bindings_are_found_and_nothing_else_outside_the_platform(lab, namespace, planted):
    result = audit(load_from_cluster(lab.api_client), exclude_system=True)
    # Only this test's namespace holds non-platform bindings on the session lab.
    ours = [f for f in result.findings if f.binding.name in planted]
    assert {f.binding.name for f in ours} == planted
    others = [
        f for f in result.findings if f.binding.name not in planted and f.scope in ("cluster", namespace)
    ]
    assert others == [], others
    by_pattern = {(f.subject.name, f.pattern) for f in ours}
    assert {("ci-deployer", "RBAC-01"), ("release-bot", "RBAC-01"), ("debug-helper", "RBAC-10")} <= by_pattern
    assert any(
        f.subject.kind == "Group" and f.subject.name == f"system:serviceaccounts:{namespace}" for f in ours
    )
    assert all(f.default_account for f in ours if f.binding.name == "default-secret-reader")


def test_seed_query_duplicates_and_blind_spots_on_the_live_cluster(lab, namespace, planted):
    objects = load_from_cluster(lab.api_client)
    seed = [o["name"] for o in seed_query(objects)]
    assert seed.count("ci-cluster-admin") == 2
    assert "default-secret-reader" not in seed and "all-accounts-edit" not in seed
    assert [o["name"] for o in fixed_query(objects)].count("ci-cluster-admin") == 1


REQUESTS = [
    # (account, verb, resource, subresource, group, name)
    ("debug-helper", "create", "pods", "exec", "", "any-pod"),
    ("debug-helper", "create", "deployments", "exec", "apps", ""),  # */exec: any resource's exec
    ("debug-helper", "delete", "pods", "", "", ""),
    ("default", "get", "secrets", "", "", "x"),
    ("default", "list", "secrets", "", "", ""),
    ("default", "create", "secrets", "", "", ""),
    ("web", "create", "pods", "", "", ""),  # through the group binding to `edit`
    ("web", "impersonate", "serviceaccounts", "", "", "default"),  # edit aggregates impersonate on SAs
    ("web", "create", "roles", "", "rbac.authorization.k8s.io", ""),
    ("ci-deployer", "create", "clusterrolebindings", "", "rbac.authorization.k8s.io", ""),
    ("nobody-special", "get", "pods", "", "", ""),  # still in the group: edit allows it
]


@pytest.mark.parametrize(
    "account,verb,resource,subresource,group,name",
    REQUESTS,
    ids=[f"{r[0]}-{r[1]}-{r[2]}{'-' + r[3] if r[3] else ''}" for r in REQUESTS],
)
def test_can_agrees_with_subject_access_review(
    lab, namespace, planted, account, verb, resource, subresource, group, name
):
    who, status = sar(lab, namespace, account, verb, resource, subresource, group, name)
    policy = Policy.from_objects(load_from_cluster(lab.api_client))
    full = f"{resource}/{subresource}" if subresource else resource
    ours = policy.can(who, verb, full, namespace=namespace, api_group=group, name=name)
    assert bool(ours) == status.allowed, (ours, status)

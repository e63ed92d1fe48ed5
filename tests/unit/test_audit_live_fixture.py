"""The auditor on RBAC objects captured from the live embedded control plane (v1.37.2)."""

from pathlib import Path

import pytest

from labsetup.audit import audit, load_file, platform_default_bindings
from labsetup.seed_query import fixed_query, seed_query

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rbac" / "live-embedded-v1.37.2.json"


@pytest.fixture(scope="module")
def objects():
    return load_file(FIXTURE)


@pytest.fixture(scope="module")
def result(objects):
    return audit(objects)


def test_capture_holds_the_bootstrap_policy(objects):
    kinds = {o["kind"] for o in objects}
    assert {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"} <= kinds
    names = {o["metadata"]["name"] for o in objects if o["kind"] == "ClusterRoleBinding"}
    assert {"cluster-admin", "system:controller:generic-garbage-collector", "system:kube-dns"} <= names


def test_every_finding_on_a_fresh_cluster_is_a_platform_default(result):
    assert result.findings
    assert all(f.system for f in result.findings)
    assert audit(load_file(FIXTURE), exclude_system=True).findings == []


@pytest.mark.parametrize(
    ("binding", "pattern"),
    [
        ("system:controller:clusterrole-aggregation-controller", "RBAC-17"),  # escalate on clusterroles
        ("system:controller:generic-garbage-collector", "RBAC-22"),  # get/list * includes Secrets
        ("system:controller:namespace-controller", "RBAC-24"),  # delete *
    ],
)
def test_known_powerful_controller_grants_are_found(result, binding, pattern):
    assert any(f.binding.name == binding and pattern in (f.pattern, *f.covers) for f in result.findings)


def test_kube_dns_subject_dangles_without_coredns(result):
    dangling = [f for f in result.findings if f.pattern == "RBAC-34"]
    assert any(f.subject.name == "kube-dns" and f.subject.namespace == "kube-system" for f in dangling)


def test_the_seed_query_lists_only_platform_bindings_here(objects):
    platform = platform_default_bindings(objects)
    seed = [o["name"] for o in seed_query(objects)]
    assert seed and set(seed) <= platform
    assert sorted(o["name"] for o in fixed_query(objects)) == sorted(set(seed))

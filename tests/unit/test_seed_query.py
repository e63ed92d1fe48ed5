"""The seed lesson's jq pipeline, its duplicate output, the fix, and what only the auditor sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from labsetup.audit import audit, load_file
from labsetup.seed_query import (
    FIXED_FILTER,
    SEED_FILTER,
    clusterrolebindings,
    fixed_query,
    run_filter,
    seed_query,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rbac"
TWO_SAS = load_file(FIXTURES / "two-sa-subjects.json")

# The pipeline as printed in the seed lesson (step 5), line breaks included.
SEED_TEXT = """.items[] | select(.subjects[]?.kind=="ServiceAccount") |
{name: .metadata.name, role: .roleRef.name,
subjects: [.subjects[] | select(.kind=="ServiceAccount")]}"""


def test_seed_filter_is_the_lesson_filter() -> None:
    assert " ".join(SEED_TEXT.split()) == " ".join(SEED_FILTER.split())


def test_seed_prints_a_two_sa_binding_twice_and_the_fix_once() -> None:
    seed, fixed = seed_query(TWO_SAS), fixed_query(TWO_SAS)
    assert [o["name"] for o in seed] == ["two-sas", "two-sas"]
    assert [o["name"] for o in fixed] == ["two-sas"]
    assert seed[0] == seed[1] == fixed[0]
    assert [s["name"] for s in fixed[0]["subjects"]] == ["alpha", "beta"]
    assert fixed[0]["role"] == "secret-lister"


def test_seed_only_sees_clusterrolebindings() -> None:
    names = {o["name"] for o in seed_query(TWO_SAS)}
    assert names == {"two-sas"}  # not the RoleBinding ns-reader, not group-only or subject-less bindings
    audited = {f.subject.name for f in audit(TWO_SAS).findings}
    assert audited == {"alpha", "beta", "gamma"}


@pytest.mark.parametrize(
    ("subjects", "seed_count", "fixed_count"),
    [
        pytest.param(None, 0, 0, id="no-subjects-key"),
        pytest.param([], 0, 0, id="empty-subjects"),
        pytest.param([{"kind": "Group", "name": "system:serviceaccounts"}], 0, 0, id="group-only-invisible"),
        pytest.param([{"kind": "ServiceAccount", "name": "a", "namespace": "n"}], 1, 1, id="one-sa"),
        pytest.param(
            [{"kind": "ServiceAccount", "name": f"s{i}", "namespace": "n"} for i in range(3)],
            3,
            1,
            id="three-sas",
        ),
    ],
)
def test_outputs_per_binding(
    subjects: list[dict[str, str]] | None, seed_count: int, fixed_count: int
) -> None:
    binding: dict[str, object] = {
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "b"},
        "roleRef": {"kind": "ClusterRole", "name": "r"},
    }
    if subjects is not None:
        binding["subjects"] = subjects
    assert len(run_filter(SEED_FILTER, [binding])) == seed_count
    assert len(run_filter(FIXED_FILTER, [binding])) == fixed_count


def test_clusterrolebindings_wraps_like_kubectl() -> None:
    wrapped = clusterrolebindings([{"kind": "List", "items": TWO_SAS}])
    assert list(wrapped) == ["items"]
    assert {i["metadata"]["name"] for i in wrapped["items"]} == {"two-sas", "humans-only", "nobody"}

"""The seed lesson's jq query over ClusterRoleBindings, and a fixed version, for side-by-side comparison.

The seed runs `kubectl get clusterrolebindings -o json | jq '<SEED_FILTER>'`. Its `select(.subjects[]?.kind ==
"ServiceAccount")` emits the binding once per matching subject, so a binding with two ServiceAccount subjects
prints twice. FIXED_FILTER selects with `any(...)` and prints each binding once. Neither looks inside roles,
at RoleBindings or at group subjects: that is what `labsetup.audit` adds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jq

from labsetup.audit_input import flatten

SEED_FILTER = (
    '.items[] | select(.subjects[]?.kind=="ServiceAccount") | '
    "{name: .metadata.name, role: .roleRef.name, "
    'subjects: [.subjects[] | select(.kind=="ServiceAccount")]}'
)
"""The seed lesson's filter, verbatim (line breaks removed)."""

FIXED_FILTER = (
    '.items[] | select(any(.subjects[]?; .kind=="ServiceAccount")) | '
    "{name: .metadata.name, role: .roleRef.name, "
    'subjects: [.subjects[]? | select(.kind=="ServiceAccount")]}'
)
"""The same output shape, one output per binding."""

_compiled: dict[str, Any] = {}


def clusterrolebindings(objects: Iterable[object]) -> dict[str, list[Any]]:
    """Return `{"items": [...]}` with the ClusterRoleBindings among objects, as kubectl would print them."""
    items = [o for o in flatten(objects) if isinstance(o, dict) and o.get("kind") == "ClusterRoleBinding"]
    return {"items": items}


def run_filter(program: str, objects: Iterable[object]) -> list[Any]:
    """Run a jq program over the ClusterRoleBindings of objects and return its outputs."""
    if program not in _compiled:
        _compiled[program] = jq.compile(program)
    return list(_compiled[program].input_value(clusterrolebindings(objects)).all())


def seed_query(objects: Iterable[object]) -> list[Any]:
    """Return what the seed lesson's pipeline prints, one list element per jq output."""
    return run_filter(SEED_FILTER, objects)


def fixed_query(objects: Iterable[object]) -> list[Any]:
    """Return the fixed filter's outputs: each ClusterRoleBinding with a ServiceAccount subject once."""
    return run_filter(FIXED_FILTER, objects)

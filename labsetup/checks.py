"""Checkers for the "your turn" exercises: apply what the learner wrote, ask the cluster, explain.

Each checker returns a CheckResult: `ok` plus a list of plain "missing: ..." style problems
that tell the learner exactly what to change. Bad YAML is a problem to report, not a crash.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labsetup import manifests
from labsetup.automount import has_token_volume
from labsetup.errors import InputError
from labsetup.paths import REPO_ROOT

if TYPE_CHECKING:
    from labsetup.lab import Lab

SOLUTIONS = REPO_ROOT / "notebooks" / "solutions"


@dataclass
class CheckResult:
    """The outcome of a check: ok, or the problems to fix."""

    ok: bool
    problems: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        if self.ok:
            return "<div class='lab-check lab-check-ok'>✅ Well done: the cluster agrees.</div>"
        items = "".join(f"<li>{html.escape(p)}</li>" for p in self.problems)
        return f"<div class='lab-check lab-check-fail'>❌ Not yet:<ul>{items}</ul></div>"

    def __repr__(self) -> str:
        return "OK" if self.ok else "Not yet:\n" + "\n".join(f"- {p}" for p in self.problems)


def solution(exercise: str) -> manifests.Yaml:
    """Return an exercise's solution manifest for display (its `.text` is the YAML)."""
    path = SOLUTIONS / f"{exercise}.yaml"
    if not path.exists():
        raise InputError(
            f"no solution named {exercise!r}; known: {sorted(p.stem for p in SOLUTIONS.glob('*.yaml'))}"
        )
    return manifests.Yaml(path.read_text(), f"Solution: {exercise}")


def _single(text: str, kind: str) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        docs = manifests.parse(text, "your manifest")
    except InputError as err:
        return None, [str(err)]
    found = [d for d in docs if d.get("kind") == kind]
    if len(found) != 1:
        return None, [f"expected exactly one {kind} in your manifest, found {len(found)}"]
    return found[0], []


def check_no_token_pod(lab: Lab, namespace: str, text: str) -> CheckResult:
    """Exercise 02: a pod that gets no token, whatever its ServiceAccount says."""
    from kubernetes.client.exceptions import ApiException

    pod, problems = _single(text, "Pod")
    if pod is None:
        return CheckResult(False, problems)
    if pod.get("spec", {}).get("automountServiceAccountToken") is not False:
        problems.append(
            "missing: `automountServiceAccountToken: false` in the pod spec; the account's setting can be "
            "turned back on later, and the pod's own setting is the one that wins"
        )
    try:
        admitted = manifests.apply(lab, [pod], namespace)[0]
    except ApiException as err:
        return CheckResult(False, [*problems, f"the API server refused the pod: {err.status} {err.reason}"])
    if has_token_volume(admitted):
        problems.append("the admitted pod still has a kube-api-access-* token volume")
    return CheckResult(not problems, problems)


def check_watcher_config_role(lab: Lab, namespace: str, text: str, watcher_token: str) -> CheckResult:
    """Exercise 04: pod-watcher may read ConfigMap pod-watcher-config, and nothing more than before."""
    from kubernetes.client.exceptions import ApiException

    from labsetup.access import attempt, wait_until_allowed

    try:
        docs = manifests.parse(text, "your manifest")
    except InputError as err:
        return CheckResult(False, [str(err)])
    kinds = sorted(d["kind"] for d in docs)
    if kinds != ["Role", "RoleBinding"]:
        return CheckResult(False, [f"expected one Role and one RoleBinding, found {kinds}"])
    try:
        manifests.apply(lab, docs, namespace)
    except ApiException as err:
        return CheckResult(False, [f"the API server refused your manifest: {err.status} {err.reason}"])
    problems = []
    if not wait_until_allowed(lab, watcher_token, "get configmap pod-watcher-config", namespace, 5.0).allowed:
        problems.append(
            "missing: pod-watcher still cannot get ConfigMap pod-watcher-config "
            "(check the Role's rule and that the RoleBinding names ServiceAccount pod-watcher)"
        )
    for action, why in (
        ("get configmap payroll-config", "use resourceNames to limit the rule to one ConfigMap"),
        ("list configmaps", "list returns every ConfigMap's content; grant get only"),
        ("list secrets", "the workload needs no Secrets"),
    ):
        if attempt(lab, watcher_token, action, namespace).allowed:
            problems.append(f"too much: pod-watcher may now {action}; {why}")
    return CheckResult(not problems, problems)

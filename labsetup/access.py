"""Real allowed/denied API calls made with a ServiceAccount's token: who can do what.

Each action is a real request to the API server with the token as bearer credentials. Writes
use server-side dry run, which is authorized exactly like a real write but changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labsetup.show import Table, mark

if TYPE_CHECKING:
    from labsetup.lab import Lab

Call = Callable[[Any, str], Any]
"""An action: called with a CoreV1Api built on the token's client and the namespace."""


def _dry_run_pod(core: Any, ns: str) -> Any:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probe"},
        "spec": {"containers": [{"name": "c", "image": "sa-lab.local/busybox:1"}]},
    }
    return core.create_namespaced_pod(ns, pod, dry_run="All")


ACTIONS: dict[str, Call] = {
    "list pods": lambda core, ns: core.list_namespaced_pod(ns),
    "create pods": _dry_run_pod,
    "get configmap inventory-config": lambda core, ns: core.read_namespaced_config_map(
        "inventory-config", ns
    ),
    "get configmap payroll-config": lambda core, ns: core.read_namespaced_config_map("payroll-config", ns),
    "get configmap pod-watcher-config": lambda core, ns: core.read_namespaced_config_map(
        "pod-watcher-config", ns
    ),
    "list configmaps": lambda core, ns: core.list_namespaced_config_map(ns),
    "list secrets": lambda core, ns: core.list_namespaced_secret(ns),
    "get secret database-password": lambda core, ns: core.read_namespaced_secret("database-password", ns),
    "list pods in kube-system": lambda core, ns: core.list_namespaced_pod("kube-system"),
    "list namespaces": lambda core, ns: core.list_namespace(),
}
"""The actions the lessons try, by name."""


@dataclass(frozen=True)
class Attempt:
    """The API server's answer to one action."""

    action: str
    allowed: bool
    status: int
    message: str


def attempt(lab: Lab, token: str, action: str, namespace: str) -> Attempt:
    """Perform one named action with the token and report whether the API server allowed it."""
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException

    client = lab.token_client(token)
    try:
        ACTIONS[action](CoreV1Api(client), namespace)
        return Attempt(action, True, 200, "allowed")
    except ApiException as err:
        if err.status in (401, 403):
            return Attempt(action, False, err.status, _reason(err))
        if err.status == 404:  # authorized, but the object is not there
            return Attempt(action, True, 404, "allowed (not found)")
        raise
    finally:
        client.close()


def _reason(err: Any) -> str:
    import json

    try:
        return str(json.loads(err.body).get("message", err.reason))
    except (TypeError, ValueError):
        return str(err.reason)


class AccessMatrix(Table):
    """Identities x actions, each cell a real API call; `allowed[(who, action)]` for asserts."""

    def __init__(self, attempts: Mapping[str, Sequence[Attempt]], title: str = "") -> None:
        self.attempts = {who: list(tries) for who, tries in attempts.items()}
        self.allowed = {(who, a.action): a.allowed for who, tries in self.attempts.items() for a in tries}
        actions = [a.action for a in next(iter(self.attempts.values()), [])]
        rows = [
            {"token of": who, **{a.action: mark(a.allowed) for a in tries}}
            for who, tries in self.attempts.items()
        ]
        super().__init__(rows, ["token of", *actions], title)

    def allowed_actions(self, who: str) -> list[str]:
        """Return the actions `who` was allowed."""
        return [a.action for a in self.attempts[who] if a.allowed]


def access_matrix(
    lab: Lab,
    tokens: Mapping[str, str],
    actions: Sequence[str],
    namespace: str,
    title: str = "What each token may do (real API calls)",
) -> AccessMatrix:
    """Try every action with every token and return the table of answers."""
    return AccessMatrix(
        {who: [attempt(lab, tok, a, namespace) for a in actions] for who, tok in tokens.items()}, title
    )


def wait_until_allowed(lab: Lab, token: str, action: str, namespace: str, timeout: float = 10.0) -> Attempt:
    """Retry an action until allowed: a new RoleBinding reaches the authorizer's cache within moments."""
    import time

    deadline = time.monotonic() + timeout
    result = attempt(lab, token, action, namespace)
    while not result.allowed and time.monotonic() < deadline:
        time.sleep(0.1)
        result = attempt(lab, token, action, namespace)
    return result


def rules_of(lab: Lab, token: str, namespace: str) -> Table:
    """Ask the API server what the token's identity may do in a namespace (SelfSubjectRulesReview)."""
    from kubernetes.client import AuthorizationV1Api

    client = lab.token_client(token)
    try:
        status = (
            AuthorizationV1Api(client)
            .create_self_subject_rules_review({"spec": {"namespace": namespace}})
            .status
        )
    finally:
        client.close()
    rows = [
        {
            "verbs": r.verbs,
            "apiGroups": [g or '""' for g in r.api_groups or []],
            "resources": r.resources or [],
            "resourceNames": r.resource_names or [],
        }
        for r in status.resource_rules or []
    ]
    return Table(rows, title=f"What this token may do in {namespace} (SelfSubjectRulesReview)")

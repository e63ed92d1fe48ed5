"""Inputs of the RBAC audit: kubectl dumps (JSON or YAML) and the live cluster, as plain kubectl-shaped dicts.

Accepted: the output of `kubectl get clusterroles,roles,clusterrolebindings,rolebindings -A -o json` (a
`List`, optionally with `serviceaccounts` too), the same as YAML (one or many documents), typed lists such as
`RoleBindingList`, and bare lists of objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from labsetup.errors import InputError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

RBAC_API = "rbac.authorization.k8s.io/v1"


def flatten(objects: Iterable[object]) -> Iterator[object]:
    """Yield the objects, expanding `List`/`*List` documents (items get the kind their list implies)."""
    for obj in objects:
        if isinstance(obj, dict) and isinstance(obj.get("items"), list):
            list_kind = str(obj.get("kind") or "")
            implied = list_kind[:-4] if list_kind.endswith("List") and list_kind != "List" else ""
            for item in flatten(obj["items"]):
                if implied and isinstance(item, dict) and not item.get("kind"):
                    item = {**item, "kind": implied}
                yield item
        elif isinstance(obj, list):
            yield from flatten(obj)
        elif obj is not None:
            yield obj


def parse_text(text: str, source: str = "input") -> list[object]:
    """Parse JSON or YAML (one or more documents) into a flat list of objects; raise InputError if neither."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            docs: list[object] = [json.loads(text)]
        except json.JSONDecodeError:
            docs = []  # YAML flow style also starts with { or [
        if docs:
            return _objects_in(docs, source)
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as err:
        raise InputError(f"unable to parse {source} as JSON or YAML: {err}") from err
    return _objects_in(docs, source)


def _objects_in(docs: list[object], source: str) -> list[object]:
    objects = list(flatten(docs))
    if not any(isinstance(obj, dict) for obj in objects):
        raise InputError(f"{source} holds no Kubernetes objects (expected kubectl's JSON or YAML output)")
    return objects


def load_file(path: str | Path) -> list[object]:
    """Read a kubectl JSON/YAML dump; raise InputError if it is unreadable or not JSON/YAML."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"unable to read RBAC dump {path}: {err}") from err
    return parse_text(text, source=str(path))


def load_from_cluster(api_client: ApiClient, *, service_accounts: bool = True) -> list[dict[str, Any]]:
    """List roles and bindings (and, unless disabled, ServiceAccounts) from a cluster as kubectl-shaped dicts.

    Args:
        api_client: a client for the cluster, e.g. `labsetup.connect().api_client`; it needs list on the four
            RBAC kinds (and serviceaccounts) in every namespace.
        service_accounts: also list ServiceAccounts, so bindings to missing accounts (RBAC-34) are found.
    """
    from kubernetes import client

    rbac = client.RbacAuthorizationV1Api(api_client)
    calls: list[tuple[str, str, Any]] = [
        ("ClusterRole", RBAC_API, rbac.list_cluster_role),
        ("Role", RBAC_API, rbac.list_role_for_all_namespaces),
        ("ClusterRoleBinding", RBAC_API, rbac.list_cluster_role_binding),
        ("RoleBinding", RBAC_API, rbac.list_role_binding_for_all_namespaces),
    ]
    if service_accounts:
        calls.append(
            ("ServiceAccount", "v1", client.CoreV1Api(api_client).list_service_account_for_all_namespaces)
        )
    objects: list[dict[str, Any]] = []
    for kind, api_version, list_call in calls:
        objects.extend(to_plain(api_client, kind, api_version, list_call().items))
    return objects


def to_plain(
    api_client: ApiClient, kind: str, api_version: str, items: Iterable[Any]
) -> list[dict[str, Any]]:
    """Return client model objects as kubectl-shaped dicts (list items carry no kind, so set it)."""
    plain: list[dict[str, Any]] = []
    for item in items:
        obj = api_client.sanitize_for_serialization(item)
        obj["kind"], obj["apiVersion"] = kind, api_version
        plain.append(obj)
    return plain

"""Lesson manifests: the YAML files in notebooks/manifests/ that learners take home.

Notebooks apply and display these files rather than building objects in code, so linters and
policy tools can check exactly what the lesson teaches. `${NAMESPACE}` in a file is replaced
by the lesson's namespace; cluster-scoped objects get the learner's prefix and every object
gets the lab's labels, so `down` on a shared cluster finds exactly them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from labsetup.errors import InputError
from labsetup.paths import REPO_ROOT

if TYPE_CHECKING:
    from labsetup.lab import Lab

MANIFEST_DIR = REPO_ROOT / "notebooks" / "manifests"
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "Namespace"}


def path_of(name: str) -> Path:
    """Return the file of manifest `name` (with or without .yaml)."""
    path = MANIFEST_DIR / (name if name.endswith(".yaml") else f"{name}.yaml")
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in MANIFEST_DIR.glob("*.yaml")))
        raise InputError(f"no manifest {name!r} in {MANIFEST_DIR}; known: {known}")
    return path


def load(name: str, namespace: str = "default") -> list[dict[str, Any]]:
    """Parse manifest `name` into objects, with ${NAMESPACE} replaced."""
    text = path_of(name).read_text().replace("${NAMESPACE}", namespace)
    return parse(text, source=name)


def parse(text: str, source: str = "<text>") -> list[dict[str, Any]]:
    """Parse YAML documents into objects, with a clear error for anything that is not an object."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as err:
        raise InputError(f"{source}: not valid YAML: {err}") from err
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("metadata", {}).get("name"):
            raise InputError(f"{source}: document {i + 1} needs kind and metadata.name")
    return docs


class Yaml:
    """A manifest shown as highlighted YAML in Jupyter and as plain text elsewhere."""

    def __init__(self, text: str, title: str = "") -> None:
        self.text, self.title = text, title

    def _repr_markdown_(self) -> str:
        head = f"**{self.title}**\n\n" if self.title else ""
        return f"{head}```yaml\n{self.text.rstrip()}\n```"

    def __repr__(self) -> str:
        return self.text


def show(name: str) -> Yaml:
    """Return manifest `name` for display, exactly as stored in the repository."""
    path = path_of(name)
    return Yaml(path.read_text(), f"notebooks/manifests/{path.name}")


def _api(lab: Lab, kind: str) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any], bool]:
    """Return (create, replace, delete, namespaced) API calls for a kind."""
    core, rbac, apps = lab.core, lab.rbac, lab.apps
    table: dict[str, tuple[Any, str, bool]] = {
        "ServiceAccount": (core, "service_account", True),
        "Pod": (core, "pod", True),
        "Secret": (core, "secret", True),
        "ConfigMap": (core, "config_map", True),
        "Role": (rbac, "role", True),
        "RoleBinding": (rbac, "role_binding", True),
        "ClusterRole": (rbac, "cluster_role", False),
        "ClusterRoleBinding": (rbac, "cluster_role_binding", False),
        "Deployment": (apps, "deployment", True),
    }
    if kind not in table:
        raise InputError(f"the lab cannot apply kind {kind!r}; supported: {', '.join(sorted(table))}")
    api, noun, namespaced = table[kind]
    scope = "namespaced_" if namespaced else ""
    return (
        getattr(api, f"create_{scope}{noun}"),
        getattr(api, f"replace_{scope}{noun}"),
        getattr(api, f"delete_{scope}{noun}"),
        namespaced,
    )


def prepare(
    lab: Lab, obj: dict[str, Any], namespace: str, own_cluster_roles: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Return a copy of obj with the lab's labels and namespace, or its learner prefix if cluster-scoped."""
    obj = yaml.safe_load(yaml.safe_dump(obj))
    meta = obj.setdefault("metadata", {})
    meta["labels"] = {**meta.get("labels", {}), **lab.labels}
    if obj["kind"] in CLUSTER_SCOPED:
        lab.check_cluster_write(f"{obj['kind']} {meta['name']}")
        meta["name"] = lab.cluster_name(meta["name"])
        meta.pop("namespace", None)
    else:
        meta["namespace"] = namespace
    ref = obj.get("roleRef", {})
    if ref.get("kind") == "ClusterRole" and ref.get("name") in own_cluster_roles:
        ref["name"] = lab.cluster_name(ref["name"])  # a ClusterRole from the same manifest was renamed too
    return obj


def apply(lab: Lab, name_or_objects: str | list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    """Create (or replace) each object of a manifest; return them as the API server stored them."""
    from kubernetes.client.exceptions import ApiException

    objects = load(name_or_objects, namespace) if isinstance(name_or_objects, str) else name_or_objects
    own = frozenset(o["metadata"]["name"] for o in objects if o["kind"] == "ClusterRole")
    stored = []
    for raw in objects:
        obj = prepare(lab, raw, namespace, own)
        create, replace, delete, namespaced = _api(lab, obj["kind"])
        name = obj["metadata"]["name"]
        try:
            result = create(namespace, obj) if namespaced else create(obj)
        except ApiException as err:
            if err.status != 409:
                raise
            if obj["kind"] == "Pod":  # pod specs are immutable: delete and create again
                delete(name, namespace, grace_period_seconds=0)
                _wait_gone(lambda n=name: lab.core.read_namespaced_pod(n, namespace))
                result = create(namespace, obj)
            else:
                result = replace(name, namespace, obj) if namespaced else replace(name, obj)
        stored.append(lab.api_client.sanitize_for_serialization(result))
    return stored


def _wait_gone(read: Callable[[], Any], timeout: float = 60.0) -> None:
    from kubernetes.client.exceptions import ApiException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            read()
        except ApiException as err:
            if err.status == 404:
                return
            raise
        time.sleep(0.1)
    raise InputError(f"object still present after {timeout:.0f}s")


def delete(lab: Lab, name_or_objects: str | list[dict[str, Any]], namespace: str) -> list[str]:
    """Delete each object of a manifest that exists (cluster-scoped ones by prefixed name); list them."""
    from kubernetes.client.exceptions import ApiException

    objects = load(name_or_objects, namespace) if isinstance(name_or_objects, str) else name_or_objects
    gone = []
    for raw in objects:
        _, _, remove, namespaced = _api(lab, raw["kind"])
        name = raw["metadata"]["name"] if namespaced else lab.cluster_name(raw["metadata"]["name"])
        try:
            remove(name, namespace, grace_period_seconds=0) if namespaced else remove(name)
            gone.append(f"{raw['kind']}/{name}")
        except ApiException as err:
            if err.status != 404:
                raise
    return gone

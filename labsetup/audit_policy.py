"""RBAC objects as a Policy: roles indexed by name, bindings, and aggregated ClusterRoles.

The objects come from `labsetup.audit_input` (kubectl dumps, YAML, the live cluster). ServiceAccount objects
among them tell which accounts exist. Malformed objects never raise: they are skipped or repaired and
described in `Policy.warnings`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from labsetup.audit_input import flatten
from labsetup.errors import InputError
from labsetup.rbac import Decision, Grant, Identity, PolicyRule, Subject, can

ROLE_KINDS = ("ClusterRole", "Role")
BINDING_KINDS = ("ClusterRoleBinding", "RoleBinding")
SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


class SourcedRule(NamedTuple):
    """A rule and the role it was written in (differs from the bound role for aggregated ClusterRoles)."""

    rule: PolicyRule
    source: str


class Role(NamedTuple):
    """A Role or ClusterRole; selectors is None unless the ClusterRole has an aggregationRule."""

    kind: str
    namespace: str
    name: str
    labels: Mapping[str, str]
    rules: tuple[PolicyRule, ...]
    selectors: tuple[Mapping[str, Any], ...] | None = None

    @property
    def ref(self) -> str:
        """Return `ClusterRole/<name>` or `Role/<ns>/<name>`."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"


class Binding(NamedTuple):
    """A RoleBinding (namespace set) or ClusterRoleBinding; role_kind is "" when roleRef is unusable."""

    kind: str
    namespace: str
    name: str
    labels: Mapping[str, str]
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]

    @property
    def ref(self) -> str:
        """Return e.g. `RoleBinding lab/x`."""
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Return True if a LabelSelector (matchLabels + matchExpressions) selects labels; `{}` selects all."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != _label_value(value):
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key"), expr.get("operator")
        values = [_label_value(v) for v in expr.get("values") or []]
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise InputError(f"unknown selector operator {op!r}")
    return True


def _label_value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)  # unquoted YAML `true`


def _labels(meta: Mapping[str, Any]) -> dict[str, str]:
    labels = meta.get("labels")
    return {str(k): _label_value(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


class Policy:
    """Roles indexed by name and the bindings that reference them, built leniently from raw objects."""

    def __init__(self) -> None:
        self.roles: dict[tuple[str, str, str], Role] = {}
        self.bindings: list[Binding] = []
        self.warnings: list[str] = []
        self.service_accounts: set[tuple[str, str]] = set()
        self.sa_namespaces: set[str] | None = set()
        self._effective: dict[tuple[str, str, str], tuple[SourcedRule, ...]] = {}
        self._contributors: dict[str, tuple[Role, ...]] = {}
        self._grants: list[Grant] | None = None

    @classmethod
    def from_objects(
        cls, objects: Iterable[object], service_accounts: Iterable[tuple[str, str]] | None = None
    ) -> Policy:
        """Build a policy from kubectl-shaped objects.

        Args:
            objects: dicts (or `List` dicts) of kinds Role, ClusterRole, RoleBinding, ClusterRoleBinding and
                ServiceAccount; anything else is reported in `warnings` and skipped.
            service_accounts: (namespace, name) of every existing ServiceAccount. If unset, ServiceAccount
                objects in the input define them, for the namespaces they appear in only.
        """
        policy = cls()
        ignored: dict[str, int] = {}
        for index, obj in enumerate(flatten(objects)):
            policy._add(index, obj, ignored)
        if ignored:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(ignored.items()))
            policy.warnings.append(f"ignored objects of other kinds: {kinds}")
        if service_accounts is not None:
            policy.service_accounts = set(service_accounts)
            policy.sa_namespaces = None
        return policy

    def _add(self, index: int, obj: object, ignored: dict[str, int]) -> None:
        if not isinstance(obj, dict):
            self.warnings.append(f"item {index}: not an object ({type(obj).__name__}); skipped")
            return
        kind, meta = obj.get("kind"), obj.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
            self.warnings.append(f"item {index} ({kind or 'no kind'}): metadata.name missing; skipped")
            return
        name, namespace = meta["name"], meta.get("namespace") or ""
        if kind in ("Role", "RoleBinding", "ServiceAccount") and not namespace:
            self.warnings.append(f"{kind} {name}: metadata.namespace missing; skipped")
            return
        if kind in ("ClusterRole", "ClusterRoleBinding"):
            namespace = ""
        if kind == "ServiceAccount":
            self.service_accounts.add((namespace, name))
            if self.sa_namespaces is not None:
                self.sa_namespaces.add(namespace)
        elif kind in ROLE_KINDS:
            self._add_role(str(kind), namespace, name, obj, _labels(meta))
        elif kind in BINDING_KINDS:
            self._add_binding(str(kind), namespace, name, obj, _labels(meta))
        else:
            ignored[str(kind or "without kind")] = ignored.get(str(kind or "without kind"), 0) + 1

    def _add_role(
        self, kind: str, namespace: str, name: str, obj: Mapping[str, Any], labels: dict[str, str]
    ) -> None:
        where = f"{kind} {namespace + '/' if namespace else ''}{name}"
        raw_rules = obj.get("rules") or []
        if not isinstance(raw_rules, list):
            self.warnings.append(f"{where}: rules is not a list; treated as empty")
            raw_rules = []
        rules: list[PolicyRule] = []
        for i, raw in enumerate(raw_rules):
            try:
                rules.append(PolicyRule.from_dict(raw))
            except InputError as err:
                self.warnings.append(f"{where}: rule {i} skipped: {err}")
        selectors: tuple[Mapping[str, Any], ...] | None = None
        agg = obj.get("aggregationRule")
        if kind == "ClusterRole" and isinstance(agg, dict):
            raw_sel = agg.get("clusterRoleSelectors") or []
            good = [s for s in raw_sel if isinstance(s, dict)] if isinstance(raw_sel, list) else []
            if not isinstance(raw_sel, list) or len(good) != len(raw_sel):
                self.warnings.append(f"{where}: malformed aggregationRule selectors skipped")
            selectors = tuple(good)
        key = (kind, namespace, name)
        if key in self.roles:
            self.warnings.append(f"{where}: defined twice; the last definition is used")
        self.roles[key] = Role(kind, namespace, name, labels, tuple(rules), selectors)

    def _add_binding(
        self, kind: str, namespace: str, name: str, obj: Mapping[str, Any], labels: dict[str, str]
    ) -> None:
        where = f"{kind} {namespace + '/' if namespace else ''}{name}"
        ref = obj.get("roleRef")
        role_kind = role_name = ""
        if not isinstance(ref, dict) or not ref.get("name") or ref.get("kind") not in ROLE_KINDS:
            self.warnings.append(f"{where}: roleRef missing or malformed ({ref!r}); it grants nothing")
        elif kind == "ClusterRoleBinding" and ref["kind"] == "Role":
            self.warnings.append(f"{where}: a ClusterRoleBinding cannot reference a Role; it grants nothing")
        else:
            role_kind, role_name = str(ref["kind"]), str(ref["name"])
        raw_subjects = obj.get("subjects")
        if not raw_subjects:
            self.warnings.append(f"{where}: no subjects; it grants nothing")
            raw_subjects = []
        elif not isinstance(raw_subjects, list):
            self.warnings.append(f"{where}: subjects is not a list; it grants nothing")
            raw_subjects = []
        subjects: list[Subject] = []
        for i, raw in enumerate(raw_subjects):
            if not isinstance(raw, dict) or raw.get("kind") not in SUBJECT_KINDS or not raw.get("name"):
                self.warnings.append(f"{where}: subject {i} malformed ({raw!r}); skipped")
                continue
            sa_ns = str(raw.get("namespace") or "") if raw["kind"] == "ServiceAccount" else ""
            if raw["kind"] == "ServiceAccount" and not sa_ns and kind == "ClusterRoleBinding":
                self.warnings.append(
                    f"{where}: ServiceAccount subject {raw['name']} has no namespace; in a "
                    "ClusterRoleBinding it matches no account (the API would reject it)"
                )
            subjects.append(Subject(str(raw["kind"]), str(raw["name"]), sa_ns))
        self.bindings.append(Binding(kind, namespace, name, labels, role_kind, role_name, tuple(subjects)))

    def role_for(self, binding: Binding) -> Role | None:
        """Return the role a binding references (Roles are looked up in the binding's namespace)."""
        if not binding.role_kind:
            return None
        namespace = binding.namespace if binding.role_kind == "Role" else ""
        return self.roles.get((binding.role_kind, namespace, binding.role_name))

    def contributors(self, role: Role) -> tuple[Role, ...]:
        """Return the other ClusterRoles an aggregated ClusterRole's selectors pick by label."""
        if role.selectors is None:
            return ()
        if role.name not in self._contributors:
            found: list[Role] = []
            for other in self.roles.values():
                if other.kind != "ClusterRole" or other.name == role.name:
                    continue
                try:
                    if any(selector_matches(sel, other.labels) for sel in role.selectors):
                        found.append(other)
                except (InputError, AttributeError, TypeError) as err:
                    self.warnings.append(f"{role.ref}: aggregation selector unusable: {err}")
                    break
            self._contributors[role.name] = tuple(found)
        return self._contributors[role.name]

    def effective_rules(self, role: Role) -> tuple[SourcedRule, ...]:
        """Return a role's rules; for an aggregated ClusterRole with empty rules, the union it selects.

        Aggregation is followed through aggregated contributors (admin includes edit includes view);
        a selection cycle is cut where it closes.
        """
        return self._effective_rules(role, frozenset())

    def _effective_rules(self, role: Role, visiting: frozenset[str]) -> tuple[SourcedRule, ...]:
        key = (role.kind, role.namespace, role.name)
        cached = self._effective.get(key)
        if cached is not None:
            return cached
        # A plain role, or an aggregated one whose rules the aggregation controller already rendered.
        if role.selectors is None or role.rules:
            ref = role.ref
            result = tuple(SourcedRule(rule, ref) for rule in role.rules)
        else:
            seen: dict[PolicyRule, SourcedRule] = {}
            for other in self.contributors(role):
                if other.name not in visiting:
                    for sourced in self._effective_rules(other, visiting | {role.name}):
                        seen.setdefault(sourced.rule, sourced)
            result = tuple(seen.values())
        self._effective[key] = result
        return result

    def sa_exists(self, namespace: str, name: str) -> bool | None:
        """Return whether ServiceAccount namespace/name exists, or None if the input does not say."""
        if self.sa_namespaces is not None and namespace not in self.sa_namespaces:
            return None
        return (namespace, name) in self.service_accounts

    def grants(self) -> list[Grant]:
        """Return every binding whose role exists, with the role's effective rules (computed once)."""
        if self._grants is None:
            self._grants = []
            for b in self.bindings:
                role = self.role_for(b)
                if role is not None:
                    rules = tuple(s.rule for s in self.effective_rules(role))
                    self._grants.append(
                        Grant(b.kind, b.namespace, b.name, role.kind, role.name, b.subjects, rules)
                    )
        return self._grants

    def can(self, who: str | Identity, verb: str, resource: str = "", **request: Any) -> Decision:
        """Answer "can WHO do VERB on RESOURCE" here; see `labsetup.rbac.can` for the arguments."""
        return can(self.grants(), who, verb, resource, **request)

"""Kubernetes RBAC semantics: which requests a rule allows, and which identities a subject names.

The matching follows the upstream authorizer (`pkg/apis/rbac/v1/evaluation_helpers.go`, `RuleAllows`, and
`appliesToUser` in `pkg/registry/rbac/validation/rule.go`); the code is written for this lab:

- verbs, apiGroups and resources: `*` matches everything; the core group is `""`, never `"core"`;
- resources: `pods/exec` names a subresource; `*/exec` matches the `exec` subresource of any resource;
  `pods/*` matches only a subresource literally named `*`; `*` matches every resource and subresource;
- resourceNames: an empty list allows every name, otherwise the request's name must be listed (`*` is
  literal). A create on a collection or a deletecollection carries no name, so names cannot narrow it;
- nonResourceURLs: `*` matches every path, a trailing `*` is a prefix match;
- a RoleBinding applies only to requests in its own namespace, so it never grants cluster-scoped resources
  or non-resource URLs, even when it references a ClusterRole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from labsetup.errors import InputError

ALL = "*"
CORE_GROUP = ""
SA_USER_PREFIX = "system:serviceaccount:"
SA_GROUP = "system:serviceaccounts"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"

_CLUSTER_SCOPED_BY_GROUP: dict[str, tuple[str, ...]] = {
    "": ("nodes", "persistentvolumes", "namespaces", "componentstatuses", "users", "groups"),
    "rbac.authorization.k8s.io": ("clusterroles", "clusterrolebindings"),
    "certificates.k8s.io": ("certificatesigningrequests", "signers", "clustertrustbundles"),
    "admissionregistration.k8s.io": (
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
        "mutatingadmissionpolicies",
        "mutatingadmissionpolicybindings",
    ),
    "apiextensions.k8s.io": ("customresourcedefinitions",),
    "apiregistration.k8s.io": ("apiservices",),
    "storage.k8s.io": (
        "storageclasses",
        "csidrivers",
        "csinodes",
        "volumeattachments",
        "volumeattributesclasses",
    ),
    "scheduling.k8s.io": ("priorityclasses",),
    "node.k8s.io": ("runtimeclasses",),
    "networking.k8s.io": ("ingressclasses", "ipaddresses", "servicecidrs"),
    "flowcontrol.apiserver.k8s.io": ("flowschemas", "prioritylevelconfigurations"),
    "authentication.k8s.io": ("tokenreviews", "selfsubjectreviews", "userextras", "uids"),
    "authorization.k8s.io": ("subjectaccessreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
    "resource.k8s.io": ("deviceclasses", "resourceslices"),
}
CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset(
    (group, resource) for group, resources in _CLUSTER_SCOPED_BY_GROUP.items() for resource in resources
)
"""(apiGroup, resource) pairs of the built-in cluster-scoped resources, impersonation targets included."""


def is_cluster_scoped(api_group: str, resource: str) -> bool:
    """Return True if the built-in resource (or one of its subresources) is cluster-scoped."""
    return (api_group, resource.split("/", 1)[0]) in CLUSTER_SCOPED


def _str_tuple(data: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if type(value) is not list or any(type(item) is not str for item in value):
        raise InputError(f"rule field {key!r} must be a list of strings, got {value!r}")
    return tuple(value)


class PolicyRule:
    """One RBAC PolicyRule (immutable, hashable), with lookup sets prepared once so matching is cheap."""

    __slots__ = (
        "verbs",
        "api_groups",
        "resources",
        "resource_names",
        "non_resource_urls",
        "_verbs",
        "_groups",
        "_resources",
        "_star_subresources",
        "_names",
        "_hash",
    )

    def __init__(
        self,
        verbs: Iterable[str] = (),
        api_groups: Iterable[str] = (),
        resources: Iterable[str] = (),
        resource_names: Iterable[str] = (),
        non_resource_urls: Iterable[str] = (),
    ) -> None:
        self.verbs: tuple[str, ...] = tuple(verbs)
        self.api_groups: tuple[str, ...] = tuple(api_groups)
        self.resources: tuple[str, ...] = tuple(resources)
        self.resource_names: tuple[str, ...] = tuple(resource_names)
        self.non_resource_urls: tuple[str, ...] = tuple(non_resource_urls)
        self._verbs = frozenset(self.verbs)
        self._groups = frozenset(self.api_groups)
        self._resources = frozenset(self.resources)
        self._star_subresources = frozenset(r[2:] for r in self.resources if r[:2] == "*/")
        self._names = frozenset(self.resource_names)
        self._hash = hash(self._key())

    def _key(self) -> tuple[tuple[str, ...], ...]:
        return (self.verbs, self.api_groups, self.resources, self.resource_names, self.non_resource_urls)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PolicyRule) and self._key() == other._key()

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"PolicyRule({self.to_dict()!r})"

    @classmethod
    def from_dict(cls, data: object) -> PolicyRule:
        """Build a rule from its API form (`apiGroups`, `resources`, ...); raise InputError if malformed."""
        if not isinstance(data, dict):
            raise InputError(f"a rule must be a mapping, got {type(data).__name__}")
        return cls(
            _str_tuple(data, "verbs"),
            _str_tuple(data, "apiGroups"),
            _str_tuple(data, "resources"),
            _str_tuple(data, "resourceNames"),
            _str_tuple(data, "nonResourceURLs"),
        )

    def to_dict(self) -> dict[str, list[str]]:
        """Return the API form, omitting empty fields (as kubectl shows rules)."""
        pairs = (
            ("verbs", self.verbs),
            ("apiGroups", self.api_groups),
            ("resources", self.resources),
            ("resourceNames", self.resource_names),
            ("nonResourceURLs", self.non_resource_urls),
        )
        return {key: list(value) for key, value in pairs if value or key == "verbs"}

    # The five predicates of upstream RuleAllows.
    def verb_matches(self, verb: str) -> bool:
        """Return True if the rule names the verb or `*`."""
        return ALL in self._verbs or verb in self._verbs

    def group_matches(self, api_group: str) -> bool:
        """Return True if the rule names the API group (`""` is core) or `*`."""
        return ALL in self._groups or api_group in self._groups

    def resource_matches(self, resource: str, subresource: str = "") -> bool:
        """Return True if the rule covers resource[/subresource]: exact, `*`, or `*/<subresource>`."""
        if ALL in self._resources:
            return True
        combined = f"{resource}/{subresource}" if subresource else resource
        return combined in self._resources or (bool(subresource) and subresource in self._star_subresources)

    def name_matches(self, name: str) -> bool:
        """Return True if the rule has no resourceNames or lists this exact name (`*` is literal)."""
        return not self._names or name in self._names

    def url_matches(self, path: str) -> bool:
        """Return True if a nonResourceURL is `*`, equals path, or ends in `*` and prefixes it."""
        for url in self.non_resource_urls:
            if url == ALL or url == path or (url.endswith("*") and path.startswith(url.rstrip("*"))):
                return True
        return False

    def allows(self, verb: str, api_group: str, resource: str, subresource: str = "", name: str = "") -> bool:
        """Return True if the rule allows this resource request (name "" = no object name)."""
        return (
            self.verb_matches(verb)
            and self.group_matches(api_group)
            and self.resource_matches(resource, subresource)
            and self.name_matches(name)
        )

    def allows_url(self, verb: str, path: str) -> bool:
        """Return True if the rule allows this non-resource request (e.g. get /healthz)."""
        return self.verb_matches(verb) and self.url_matches(path)

    @property
    def narrowed(self) -> bool:
        """True if resourceNames restricts the rule to named objects."""
        return bool(self._names)


class Subject(NamedTuple):
    """A binding subject: kind ServiceAccount, User or Group (namespace only for ServiceAccount)."""

    kind: str
    name: str
    namespace: str = ""

    def applies_to(self, identity: Identity, binding_namespace: str) -> bool:
        """Return True if this subject names the identity (binding_namespace is "" for a ClusterRoleBinding).

        A ServiceAccount subject without namespace takes the binding's namespace; in a ClusterRoleBinding it
        therefore names `system:serviceaccount::<name>`, which no token carries.
        """
        if self.kind == "User":
            return self.name == identity.user
        if self.kind == "Group":
            return self.name in identity.groups
        if self.kind == "ServiceAccount":
            namespace = self.namespace or binding_namespace
            return f"{SA_USER_PREFIX}{namespace}:{self.name}" == identity.user
        return False


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated (or anonymous) user: its name and groups, as the authorizer sees them."""

    user: str
    groups: frozenset[str] = frozenset()

    @classmethod
    def service_account(cls, namespace: str, name: str) -> Identity:
        """Return the identity a token of ServiceAccount namespace/name authenticates as."""
        groups = frozenset({SA_GROUP, f"{SA_GROUP}:{namespace}", AUTHENTICATED})
        return cls(f"{SA_USER_PREFIX}{namespace}:{name}", groups)

    @classmethod
    def parse(cls, who: str | Identity) -> Identity:
        """Return an identity for `system:serviceaccount:<ns>:<name>`, `system:anonymous` or a user name."""
        if isinstance(who, Identity):
            return who
        sa = parse_sa_username(who)
        if sa is not None:
            return cls.service_account(*sa)
        if who == ANONYMOUS:
            return cls(who, frozenset({UNAUTHENTICATED}))
        return cls(who, frozenset({AUTHENTICATED}))


def parse_sa_username(user: str) -> tuple[str, str] | None:
    """Return (namespace, name) for `system:serviceaccount:<ns>:<name>`, else None."""
    if not user.startswith(SA_USER_PREFIX):
        return None
    namespace, sep, name = user[len(SA_USER_PREFIX) :].partition(":")
    if not sep or not namespace or not name or ":" in name:
        return None
    return namespace, name


@dataclass(frozen=True, slots=True)
class Grant:
    """A binding with its role's rules resolved: the unit the authorizer walks through."""

    binding_kind: str
    binding_namespace: str
    binding_name: str
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]
    rules: tuple[PolicyRule, ...]

    def describe(self) -> str:
        """Return e.g. `RoleBinding lab/x -> ClusterRole edit`."""
        where = f"{self.binding_namespace}/" if self.binding_namespace else ""
        return f"{self.binding_kind} {where}{self.binding_name} -> {self.role_kind} {self.role_name}"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of `can`: allowed or not, and which binding and rule allowed it."""

    allowed: bool
    reasons: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed


def can(
    grants: Iterable[Grant],
    who: str | Identity,
    verb: str,
    resource: str = "",
    *,
    namespace: str = "",
    api_group: str = CORE_GROUP,
    name: str = "",
    path: str | None = None,
) -> Decision:
    """Answer "can WHO do VERB on RESOURCE in NAMESPACE" from RBAC bindings alone.

    Args:
        grants: resolved bindings, e.g. `Policy.grants()` from `labsetup.audit`.
        who: `system:serviceaccount:<ns>:<name>`, another user name, or an Identity.
        verb: the request verb (get, list, create, impersonate, ...).
        resource: plural resource, optionally with subresource (`pods/exec`); ignored when path is set.
        namespace: the request's namespace; if unset (or the resource is cluster-scoped) only
            ClusterRoleBindings apply, as for a cluster-scoped or all-namespaces request.
        api_group: the resource's API group; if unset, the core group `""`.
        name: the object name; if unset, a request without name (create, list, deletecollection).
        path: a non-resource URL such as `/healthz`; if set, the request is a non-resource request.

    Returns:
        A Decision, truthy when some binding allows the request; its reasons name binding and rule.
        Groups such as `system:masters`, the Node authorizer and webhooks are not modelled.
    """
    identity = Identity.parse(who)
    base, _, subresource = resource.partition("/")
    if path is not None or is_cluster_scoped(api_group, base):
        namespace = ""
    reasons: list[str] = []
    for grant in grants:
        if grant.binding_kind == "RoleBinding" and (not namespace or grant.binding_namespace != namespace):
            continue
        if not any(subject.applies_to(identity, grant.binding_namespace) for subject in grant.subjects):
            continue
        for rule in grant.rules:
            ok = (
                rule.allows_url(verb, path)
                if path is not None
                else rule.allows(verb, api_group, base, subresource, name)
            )
            if ok:
                reasons.append(f"{grant.describe()}: {rule.to_dict()}")
                break
    return Decision(bool(reasons), tuple(reasons))

# %% [markdown]
# # 05 · Auditing RBAC for over-privileged service accounts
#
# **Goal:** find the service accounts that hold dangerous permissions. You start with the lesson's
# one-liner (`kubectl get clusterrolebindings -o json | jq ...`), see what it answers and what it
# cannot see, then run the lab's auditor, which reads the roles behind every ClusterRoleBinding *and*
# RoleBinding, expands group subjects, and rates each grant against a catalog of risky patterns.
# Finally you fix what it found and audit again.

# %%
import labsetup
from labsetup import manifests, show
from labsetup.audit import audit, load_from_cluster, platform_default_bindings
from labsetup.seed_query import SEED_FILTER, fixed_query, seed_query

lab = labsetup.connect()
ns = lab.namespace("lesson-05")
manifests.delete(lab, "05-risky-bindings", ns)  # leftovers of an earlier run, if any
print("The lesson's jq filter:\n ", SEED_FILTER)

# %% [markdown]
# ## The lesson's query on a fresh cluster
#
# On a cluster nobody has touched yet, the query still prints bindings: the controllers' own
# ClusterRoleBindings. The auditor marks them as *platform defaults*: expected, shown, not hidden.

# %%
objects = load_from_cluster(lab.api_client)
before = seed_query(objects)
platform = platform_default_bindings(objects)
show.Table(
    [
        {"binding": o["name"], "role": o["role"], "ServiceAccounts": [s["name"] for s in o["subjects"]]}
        for o in before
    ],
    title=f"jq: {len(before)} ClusterRoleBindings with ServiceAccount subjects",
)

# %%
assert before, "the controllers' bindings are always there"
assert all(o["name"] in platform for o in before if o["name"].startswith(lab.prefix))

# %% [markdown]
# ## Plant some mistakes
#
# Four realistic errors: two CI accounts bound to `cluster-admin` in one binding; a custom role that
# hides `exec` behind a `*/exec` wildcard; a **RoleBinding** that lets the namespace's `default` account
# read Secrets; and `edit` granted to the **group** of every ServiceAccount in the namespace.

# %%
manifests.show("05-risky-bindings")

# %%
planted = manifests.apply(lab, "05-risky-bindings", ns)
planted_bindings = {o["metadata"]["name"] for o in planted if o["kind"].endswith("Binding")}
planted_bindings

# %% [markdown]
# ## What the one-liner sees, and what it gets wrong
#
# It lists ClusterRoleBindings only. It cannot tell you what `pod-debugger` allows (it never opens the
# role), it never looks at RoleBindings, and it ignores group subjects. It also prints the
# `ci-cluster-admin` binding **twice**: `select(.subjects[]?.kind == "ServiceAccount")` emits once
# per matching subject.

# %%
objects = load_from_cluster(lab.api_client)
seen = [o["name"] for o in seed_query(objects)]
ours = {name: seen.count(name) for name in planted_bindings}
show.Table([{"planted binding": b, "times the jq query prints it": n} for b, n in sorted(ours.items())])

# %%
assert ours[lab.cluster_name("ci-cluster-admin")] == 2  # one binding, printed twice
assert ours[lab.cluster_name("debug-helper-pod-debugger")] == 1
assert ours["default-secret-reader"] == 0 and ours["all-accounts-edit"] == 0  # RoleBindings: invisible

# %% [markdown]
# The fix for the duplicates is `select(any(.subjects[]?; .kind == "ServiceAccount"))`: one output
# per binding. It still never looks inside a role.

# %%
fixed = [o["name"] for o in fixed_query(objects)]
assert fixed.count(lab.cluster_name("ci-cluster-admin")) == 1
assert len(fixed) == len(set(fixed))

# %% [markdown]
# ## The auditor
#
# Every binding, every role behind it (aggregated roles included), every subject (groups expanded),
# matched with Kubernetes' own rule semantics against the risk catalog. Platform defaults are left out
# here (`exclude_system=True`) so your planted mistakes stand out.

# %%
result = audit(objects, exclude_system=True)
mine = [f for f in result.findings if f.binding.name in planted_bindings]
show.findings_table(mine, f"{len(mine)} findings on the planted bindings")

# %%
found = {(f.binding.name, f.pattern) for f in mine}
assert {f.binding.name for f in mine} == planted_bindings  # every planted binding is found
assert (lab.cluster_name("ci-cluster-admin"), "RBAC-01") in found  # cluster-admin equivalent
assert {f.subject.name for f in mine if f.pattern == "RBAC-01"} >= {"ci-deployer", "release-bot"}
assert (lab.cluster_name("debug-helper-pod-debugger"), "RBAC-10") in found  # exec, hidden behind */exec
secret_readers = [f for f in mine if f.binding.name == "default-secret-reader"]
assert secret_readers and all(f.default_account and f.scope == ns for f in secret_readers)
assert any(f.subject.kind == "Group" and f.pattern == "RBAC-32" for f in mine)  # every SA of the namespace
assert {f.severity for f in mine if f.pattern == "RBAC-01"} == {"critical"}

# %% [markdown]
# ## Fix it and audit again
#
# Here the remedy is to remove the bindings (the accounts stay, with no rights); in real life you would
# replace each with a Role that grants only what that workload needs (notebook 04).

# %%
bindings = [o for o in manifests.load("05-risky-bindings", ns) if o["kind"].endswith("Binding")]
removed = manifests.delete(lab, bindings, ns)
after = audit(load_from_cluster(lab.api_client), exclude_system=True)
left = [f for f in after.findings if f.binding.name in planted_bindings]
print("removed:", removed)
print("findings left on the planted bindings:", len(left))
assert len(removed) == 4 and left == []

# %% [markdown]
# The same auditor runs from the command line, for CI pipelines:
# `python -m labsetup audit --exclude-system --fail-on high` exits non-zero when a finding at or above
# `high` exists; `--input dump.json` audits a saved
# `kubectl get clusterroles,roles,clusterrolebindings,rolebindings -A -o json` dump offline.
#
# ## Check yourself

# %%
# NBVAL_IGNORE_OUTPUT
from labsetup.quiz import show_quiz

show_quiz("05-auditing-rbac")

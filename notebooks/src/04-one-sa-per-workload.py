# %% [markdown]
# # 04 · One ServiceAccount per workload, with minimal RBAC
#
# **Goal:** give each workload its own account and only the rights it needs, then **prove** it with
# real API calls made with each workload's own token: what each may do, what it may not, and what an
# attacker who steals one pod's token gets.

# %%
import labsetup
from labsetup import manifests, show, tokens
from labsetup.access import access_matrix, rules_of, wait_until_allowed
from labsetup.automount import has_token_volume
from labsetup.workloads import pod_of

lab = labsetup.connect()
ns = lab.namespace("lesson-04")
manifests.show("04-workloads")

# %%
manifests.apply(lab, "04-workloads", ns)
manifests.show("04-deployments")

# %%
manifests.apply(lab, "04-deployments", ns)
pods = {app: pod_of(lab, ns, app) for app in ("web", "inventory", "pod-watcher")}
show.Table(
    [
        {
            "workload": app,
            "pod": p.metadata.name,
            "runs as": p.spec.service_account_name,
            "token mounted": has_token_volume(p),
        }
        for app, p in pods.items()
    ],
    title="Pods created by the ReplicaSet controller",
)

# %%
assert all(p.spec.service_account_name == app for app, p in pods.items())
assert not has_token_volume(pods["web"])  # web never calls the API: no token at all
assert has_token_volume(pods["inventory"]) and has_token_volume(pods["pod-watcher"])

# %% [markdown]
# ## Each token, tried for real
#
# The tokens the kubelet mounts into the inventory and pod-watcher pods, and for comparison a token of
# the namespace's `default` account. Every cell of the table is a request to the API server with that
# token (writes are server-side dry runs: authorized like real ones, changing nothing).

# %%
workload_tokens = {
    app: tokens.pod_token(lab, ns, pods[app].metadata.name).token for app in ("inventory", "pod-watcher")
}
workload_tokens["default"] = tokens.request_token(lab, ns, "default").token
for app in ("inventory", "pod-watcher"):
    wait_until_allowed(
        lab,
        workload_tokens[app],
        {"inventory": "get configmap inventory-config", "pod-watcher": "list pods"}[app],
        ns,
    )
actions = [
    "get configmap inventory-config",
    "get configmap payroll-config",
    "list configmaps",
    "list pods",
    "create pods",
    "list secrets",
    "get secret database-password",
    "list pods in kube-system",
]
matrix = access_matrix(lab, workload_tokens, actions, ns)
matrix

# %%
assert matrix.allowed_actions("inventory") == ["get configmap inventory-config"]
assert matrix.allowed_actions("pod-watcher") == ["list pods"]
assert matrix.allowed_actions("default") == []

# %% [markdown]
# ## If an attacker steals the inventory pod's token
#
# They can ask the API server what the token may do (`SelfSubjectRulesReview`, as
# `kubectl auth can-i --list` does). The answer is one ConfigMap, read-only: no Secrets, no pods,
# nothing in other namespaces. Had inventory run as a shared account with broad rights, the same
# theft would have given all of them.

# %%
stolen = rules_of(lab, workload_tokens["inventory"], ns)
stolen

# %% [markdown]
# Some of those rules every authenticated identity has (asking about itself, reading public trust
# bundles). Compare with the token of an account that was granted nothing: the difference is what the
# inventory role adds.

# %%
everyone = rules_of(lab, workload_tokens["default"], ns).rows
extra = [rule for rule in stolen.rows if rule not in everyone]
show.Table(extra, title="What the stolen inventory token adds over an account with no grants")

# %%
assert extra == [{"verbs": ["get"], "apiGroups": ['""'], "resources": ["configmaps"], "resourceNames": ["inventory-config"]}]

# %% [markdown]
# ## Your turn
#
# pod-watcher now also needs to read its settings from the ConfigMap `pod-watcher-config`. Write a Role
# and RoleBinding that allow exactly that (the check tries real calls with pod-watcher's token: it must
# read that ConfigMap, and still not read other ConfigMaps, list them, or touch Secrets).

# %%
your_rbac = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: pod-watcher-config-reader
rules:
  - apiGroups: [""]
    resources: ["configmaps"]
    verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: pod-watcher-config-reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: pod-watcher-config-reader
subjects:
  - kind: ServiceAccount
    name: pod-watcher
"""

# %%
from labsetup.checks import check_watcher_config_role, solution

check_watcher_config_role(lab, ns, your_rbac, workload_tokens["pod-watcher"])

# %% [markdown]
# Stuck? `solution("04-watcher-config-role")` shows one answer; the cell below checks it the same way.

# %%
answer = solution("04-watcher-config-role")
result = check_watcher_config_role(lab, ns, answer.text, workload_tokens["pod-watcher"])
assert result.ok, result.problems
answer

# %% [markdown]
# ## Check yourself

# %%
# NBVAL_IGNORE_OUTPUT
from labsetup.quiz import show_quiz

show_quiz("04-one-sa-per-workload")

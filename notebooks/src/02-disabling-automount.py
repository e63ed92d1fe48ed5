# %% [markdown]
# # 02 · Disabling token automount
#
# **Goal:** stop giving API tokens to pods that never call the API. You can switch automount off on
# the ServiceAccount or on the pod; here you find out, on the real API server, **which one wins** when
# they disagree, then harden the `default` ServiceAccount of every namespace with one call and give the
# one workload that needs the API a dedicated account.

# %%
import labsetup
from labsetup import manifests
from labsetup.automount import (
    TOKEN_MOUNT_PATH,
    automount_matrix,
    harden_default_service_accounts,
    has_token_volume,
)
from labsetup.pods import list_dir_in_pod, wait_running

lab = labsetup.connect()
ns = lab.namespace("lesson-02")
ns

# %% [markdown]
# ## The two switches
#
# The lesson's manifests: the namespace's `default` account with automount off, and a pod that opts
# out itself.

# %%
manifests.show("02-hardened-default-serviceaccount")

# %%
manifests.show("02-pod-automount-off")

# %% [markdown]
# ## Which one wins? Ask the API server
#
# Nine real pods, one for every combination of the account's and the pod's setting (true, false or
# unset). The ServiceAccount admission plugin decides; we only read each admitted spec for the
# `kube-api-access-*` token volume.

# %%
matrix = automount_matrix(lab, ns)
matrix

# %%
mounted = {(row["sa"], row["pod"]): row["mounted"] for row in matrix.rows}
# The pod's own setting, when present, decides, whatever the account says:
assert all(mounted[(sa, "true")] for sa in ("unset", "true", "false"))
assert not any(mounted[(sa, "false")] for sa in ("unset", "true", "false"))
# Only when the pod says nothing does the account's setting count; with neither set, the token is mounted:
assert mounted[("false", "unset")] is False
assert mounted[("true", "unset")] is True and mounted[("unset", "unset")] is True

# %% [markdown]
# So `automountServiceAccountToken: false` on an account is a **default for its pods, not a guarantee**:
# a pod that says `true` still gets the token. Review pod specs (or enforce it with an admission policy).
#
# ## Harden every namespace's `default` account with one call
#
# Pods that name no account use `default`, so that is the account to switch off everywhere. On your
# own lab this covers every namespace; on a shared cluster, only the namespaces that carry your prefix.

# %%
hardened = harden_default_service_accounts(lab)
hardened

# %%
assert hardened.rows and all(row["after"] == "false" for row in hardened.rows)
assert ns in [row["namespace"] for row in hardened.rows]
pod = manifests.apply(lab, "01-pod-no-serviceaccount", ns)[0]
print(
    "token volume:", has_token_volume(pod), "| volumes:", [v["name"] for v in pod["spec"].get("volumes", [])]
)
assert pod["spec"]["serviceAccountName"] == "default" and not has_token_volume(pod)

# %% [markdown]
# Where the lab has a node, look inside the running container: the token directory is simply not there.

# %%
if lab.capabilities.exec:
    wait_running(lab, ns, "app")
    listing = list_dir_in_pod(lab, ns, "app", TOKEN_MOUNT_PATH)
    print(f"inside the running pod, {TOKEN_MOUNT_PATH}:", listing or "does not exist")
    assert listing is None
else:
    print("No node here, so no container runs: the admitted spec above, without a kube-api-access volume,")
    print("is exactly what a kubelet would get, and it would mount no token.")

# %% [markdown]
# One call is not forever: a namespace created **after** it gets a brand-new `default` account with the
# setting unset, and its pods get tokens again. Hardening has to be part of how namespaces are made.

# %%
later = lab.namespace("lesson-02-later")
fresh_default = lab.core.read_namespaced_service_account("default", later)
print(
    "automountServiceAccountToken of the new namespace's default:",
    fresh_default.automount_service_account_token,
)
assert fresh_default.automount_service_account_token is None
lab.core.delete_namespace(later)  # gone in a few seconds; nothing waits for it

# %% [markdown]
# ## A dedicated account for the workload that needs the API
#
# The one workload that really calls the API gets its own ServiceAccount and asks for the token
# explicitly at pod level (here the account itself keeps automount off, so nothing else using it gets
# a token by accident).

# %%
manifests.show("02-dedicated-api-client")

# %%
sa, client_pod = manifests.apply(lab, "02-dedicated-api-client", ns)
mount = next(
    m for m in client_pod["spec"]["containers"][0]["volumeMounts"] if m["mountPath"] == TOKEN_MOUNT_PATH
)
print(
    f"{client_pod['metadata']['name']} runs as {client_pod['spec']['serviceAccountName']}, token at {mount['mountPath']}"
)
assert client_pod["spec"]["serviceAccountName"] == "api-client" and has_token_volume(client_pod)

# %% [markdown]
# ## Your turn
#
# Edit the manifest below so the pod **gets no token at all**, even if someone later turns automount
# back on for its account. Then run the check. (The check creates the pod in your lesson namespace and
# reads what the API server admitted.)

# %%
your_pod = """
apiVersion: v1
kind: Pod
metadata:
  name: your-pod
spec:
  serviceAccountName: api-client
  containers:
    - name: app
      image: sa-lab.local/busybox:1
      imagePullPolicy: Never
      command: ["sleep", "3600"]
"""

# %%
from labsetup.checks import check_no_token_pod, solution

check_no_token_pod(lab, ns, your_pod)

# %% [markdown]
# Stuck? `solution("02-no-token-pod")` shows one answer; the cell below checks it the same way.

# %%
answer = solution("02-no-token-pod")
result = check_no_token_pod(lab, ns, answer.text)
assert result.ok, result.problems
answer

# %% [markdown]
# ## Check yourself

# %%
# NBVAL_IGNORE_OUTPUT
from labsetup.quiz import show_quiz

show_quiz("02-disabling-automount")

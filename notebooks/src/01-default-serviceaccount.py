# %% [markdown]
# # 01 · The `default` ServiceAccount and its auto-mounted token
#
# **Goal:** see for yourself that a pod which names no ServiceAccount runs as the namespace's
# `default` account and gets that account's token mounted, and why that matters: a permission
# granted to `default` is inherited by **every** such pod in the namespace.

# %%
import labsetup
from labsetup import manifests, show, tokens
from labsetup.access import access_matrix, wait_until_allowed
from labsetup.automount import TOKEN_MOUNT_PATH, has_token_volume
from labsetup.token_verify import verify_with_cluster
from labsetup.token_view import claims_table

lab = labsetup.connect()
ns = lab.namespace("lesson-01")
default_sa = lab.core.read_namespaced_service_account("default", ns)
print(
    f"namespace {ns}: ServiceAccount {default_sa.metadata.name}, "
    f"automountServiceAccountToken={default_sa.automount_service_account_token}"
)
assert default_sa.automount_service_account_token is None  # unset: tokens are mounted

# %% [markdown]
# ## A pod that names no ServiceAccount

# %%
manifests.show("01-pod-no-serviceaccount")

# %% [markdown]
# The API server's **ServiceAccount admission plugin** rewrites the pod on the way in. Look at what was
# stored: an account name we never wrote, and a projected volume we never asked for.

# %%
pod = manifests.apply(lab, "01-pod-no-serviceaccount", ns)[0]
volume = next(v for v in pod["spec"]["volumes"] if v["name"].startswith("kube-api-access-"))
mount = next(m for m in pod["spec"]["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
show.key_values(
    {
        "serviceAccountName": pod["spec"]["serviceAccountName"],
        "volume": volume["name"],
        "mounted at": f"{mount['mountPath']} (readOnly={mount['readOnly']})",
        "source 1": volume["projected"]["sources"][0],
        "source 2": volume["projected"]["sources"][1],
        "source 3": volume["projected"]["sources"][2],
    },
    "What admission added to the pod",
)

# %%
sources = volume["projected"]["sources"]
assert pod["spec"]["serviceAccountName"] == "default"
assert has_token_volume(pod) and mount["mountPath"] == TOKEN_MOUNT_PATH and mount["readOnly"] is True
assert sources[0]["serviceAccountToken"] == {
    "expirationSeconds": 3607,
    "path": "token",
}  # no audience: the API's
assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
assert sources[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == "metadata.namespace"

# %% [markdown]
# ## The token inside
#
# The file `token` in that directory is a JWT signed by the cluster. The lab gets it the way this
# cluster allows (the cell says how), then verifies its signature with the cluster's public keys.

# %%
app_token = tokens.pod_token(lab, ns, "app")
print(app_token.how)
claims_table(app_token.token)

# %%
claims = verify_with_cluster(lab, app_token.token)
assert claims.verified
assert claims["sub"] == f"system:serviceaccount:{ns}:default"
assert claims["kubernetes.io"]["pod"]["name"] == "app"
assert ("node" in claims["kubernetes.io"]) == lab.capabilities.pods_run  # a running pod's token names its node

# %% [markdown]
# ## The problem: permissions bound to `default`
#
# Right now the token can do nothing interesting. Then someone binds a role to `default`, perhaps to
# make one workload work. Watch what happens to **another** pod that was never meant to have it.

# %%
actions = ["list pods", "list secrets", "create pods"]
before = access_matrix(lab, {"app": app_token.token}, actions, ns, "Before the binding (real API calls)")
before

# %%
assert not any(before.allowed.values())
manifests.show("01-default-can-list-pods")

# %%
manifests.apply(lab, "01-default-can-list-pods", ns)
manifests.apply(lab, "01-second-pod", ns)
other_token = tokens.pod_token(lab, ns, "unrelated-batch-job")
wait_until_allowed(lab, app_token.token, "list pods", ns)
after = access_matrix(
    lab,
    {"app": app_token.token, "unrelated-batch-job": other_token.token},
    actions,
    ns,
    "After binding pod-reader to default",
)
after

# %%
assert after.allowed[("app", "list pods")] and after.allowed[("unrelated-batch-job", "list pods")]
assert not after.allowed[("unrelated-batch-job", "list secrets")]
assert not after.allowed[("unrelated-batch-job", "create pods")]

# %% [markdown]
# The batch job never asked for anything, yet its token can now list every pod in the namespace,
# because it runs as `default`. Notebook 02 turns the automatic token off; notebook 04 gives each
# workload its own account.
#
# ## Check yourself

# %%
# NBVAL_IGNORE_OUTPUT
from labsetup.quiz import show_quiz

show_quiz("01-default-serviceaccount")

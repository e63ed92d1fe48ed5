# %% [markdown]
# # 03 · Projected tokens: expiry, audience, pod binding
#
# **Goal:** take the lesson's custom projected token apart. You decode it **and verify its signature**
# with PyJWT against the cluster's published keys, then test each of its three promises on the real
# API server: it expires, it only works for its audience, and it dies with its pod. A legacy
# Secret-based token is shown for contrast.

# %%
import labsetup
from labsetup import manifests, tokens
from labsetup.token_verify import decode_unverified, discover, verify_with_cluster
from labsetup.token_view import claims_table, lifetime_picture

lab = labsetup.connect()
ns = lab.namespace("lesson-03")
manifests.show("03-projected-token-pod")

# %%
account, pod = manifests.apply(lab, "03-projected-token-pod", ns)
print("volumes:", [v["name"] for v in pod["spec"]["volumes"]])
source = pod["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]
assert [v["name"] for v in pod["spec"]["volumes"]] == [
    "token"
]  # the account has automount off: no kube-api-access
assert source == {"audience": "https://my-api.example.com", "expirationSeconds": 3600, "path": "api-token"}

# %% [markdown]
# ## Decode and verify
#
# Anyone can *decode* a JWT: it is only base64. Trust comes from the signature. The cluster publishes
# its issuer and public keys (`/.well-known/openid-configuration`, `/openid/v1/jwks`); PyJWT checks the
# signature with the key named in the token header, using the algorithm from the key set, never the
# one the token claims.

# %%
custom = tokens.pod_token(lab, ns, "my-app")
print(custom.how)
keys = discover(lab)
print(
    "issuer:", keys.issuer, "| algorithms:", keys.algorithms, "| keys:", [k["kid"] for k in keys.jwks["keys"]]
)
claims = verify_with_cluster(lab, custom.token, audience="https://my-api.example.com")
claims_table(claims)

# %%
assert claims.verified and not decode_unverified(custom.token).verified
assert claims["aud"] == ["https://my-api.example.com"]
assert claims["exp"] - claims["iat"] == 3600
assert claims["sub"] == f"system:serviceaccount:{ns}:my-app-sa"
assert claims["kubernetes.io"]["pod"]["name"] == "my-app"

# %% [markdown]
# ## Promise 1: time-limited (but look closely)
#
# Three real tokens side by side: the custom one (1 hour, as asked), the one Kubernetes mounts
# automatically, and a legacy Secret token.

# %%
manifests.apply(lab, "01-pod-no-serviceaccount", ns)
manifests.apply(lab, "03-legacy-token-secret", ns)
automounted = tokens.pod_token(lab, ns, "app")
legacy = tokens.legacy_token(lab, ns, "my-app-sa-legacy-token")
picture = lifetime_picture(
    {
        "custom projected token": custom.token,
        "automounted token (kube-api-access)": automounted.token,
        "legacy Secret token": legacy.token,
    }
)
picture

# %%
life = {x.label: x for x in picture.lifetimes}
assert life["custom projected token"].lifetime == 3600
assert life["automounted token (kube-api-access)"].lifetime == 365 * 24 * 3600  # asked 3607 s, got a year
assert life["automounted token (kube-api-access)"].warn_after == 3607
assert life["legacy Secret token"].lifetime is None

# %% [markdown]
# The lesson says tokens expire after one hour by default. On the API server that is true for a
# TokenRequest that sets no expiry, but the automatic `kube-api-access` volume asks for **3607 s**, and
# the API server answers that exact request with a token valid for **a year**, carrying a
# `kubernetes.io.warnafter` claim at 3607 s (a safe transition for old clients; the kubelet still
# refreshes the file about every 48 minutes). Use after `warnafter` is logged as stale, not refused.
#
# Limits are real too: the API server refuses less than 10 minutes, and **if** it is started with
# `--service-account-max-token-expiration` (this lab and its kind config set 48h) longer requests are
# shortened with a warning. Without that flag there is no 48-hour cap.

# %%
try:
    tokens.request_token(lab, ns, "my-app-sa", expiration_seconds=300)
except tokens.TokenRequestRefused as err:
    refused = err
print(refused)
capped = tokens.request_token(lab, ns, "my-app-sa", expiration_seconds=72 * 3600)
print("asked 72 h, got", capped.expiration_seconds, "s; warning:", capped.warnings)
assert refused.status == 422 and "may not specify a duration less than 10 minutes" in refused.message
assert capped.expiration_seconds == 48 * 3600 and "shortened to 172800 seconds" in capped.warnings[0]

# %% [markdown]
# ## Promise 2: audience-bound
#
# The API server's **TokenReview** answers "would you accept this token, for these audiences?". The
# custom token was made for `https://my-api.example.com`, so the API server itself refuses it; that
# other service accepts it.

# %%
for_api = tokens.review(lab, custom.token)
for_my_api = tokens.review(lab, custom.token, ["https://my-api.example.com"])
print("as an API server token:", for_api)
print("for https://my-api.example.com:", for_my_api)
assert not for_api.authenticated and "is invalid for the target audiences" in for_api.error
assert for_my_api.authenticated and for_my_api.username == f"system:serviceaccount:{ns}:my-app-sa"

# %% [markdown]
# ## Promise 3: pod-bound
#
# Delete the pod and ask again. The API server caches successful reviews for about 10 seconds, so
# the token keeps working briefly, then it is refused for good. Note that the **signature stays
# valid**: only the API server (TokenReview) knows the pod is gone, so a service that merely checks
# the signature would still accept the token until it expires.

# %%
demo = tokens.demonstrate_pod_binding(lab, ns, "my-app", custom.token, ["https://my-api.example.com"])
print(f"before: {demo.before}\nafter {demo.seconds_to_invalid:.1f} s: {demo.after}")
still_signed = verify_with_cluster(lab, custom.token, audience="https://my-api.example.com")
assert demo.before.authenticated
assert not demo.after.authenticated and "service account token has been invalidated" in demo.after.error
assert still_signed.verified

# %% [markdown]
# ## For contrast: the legacy Secret token
#
# Issued by the controller manager into a Secret; issuer `kubernetes/serviceaccount`, no audience,
# **no expiry**. It is valid until someone deletes the Secret. A verifier that requires `exp`
# rejects it; one that does not (PyJWT's default) would accept it forever.

# %%
legacy_claims = verify_with_cluster(lab, legacy.token)
print(legacy_claims.how)
claims_table(legacy.token)

# %%
assert legacy_claims["iss"] == "kubernetes/serviceaccount"
assert "exp" not in legacy_claims and "aud" not in legacy_claims
assert tokens.review(lab, legacy.token).authenticated

# %% [markdown]
# ## Check yourself

# %%
# NBVAL_IGNORE_OUTPUT
from labsetup.quiz import show_quiz

show_quiz("03-projected-tokens")

"""Every token fact the lessons teach, asserted against the live API server."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from labsetup import manifests, tokens
from labsetup.token_verify import LEGACY_ISSUER, decode_unverified, discover, verify, verify_with_cluster

pytestmark = pytest.mark.live
YEAR = 31_536_000


@pytest.fixture
def pods(lab, namespace):
    manifests.apply(lab, "01-pod-no-serviceaccount", namespace)
    manifests.apply(lab, "03-projected-token-pod", namespace)
    return namespace


def test_audience_and_expiry_round_trip(lab, namespace):
    issued = tokens.request_token(
        lab, namespace, "default", audiences=["https://vault.example"], expiration_seconds=1800
    )
    claims = verify_with_cluster(lab, issued.token, audience="https://vault.example")
    assert claims.verified and claims["aud"] == ["https://vault.example"]
    assert claims["exp"] - claims["iat"] == 1800 and issued.expiration_seconds == 1800
    assert claims["sub"] == f"system:serviceaccount:{namespace}:default"
    assert "pod" not in claims["kubernetes.io"]


def test_signature_checks_against_the_clusters_keys(lab, namespace):
    found = discover(lab)
    assert found.issuer == "https://kubernetes.default.svc.cluster.local"
    assert found.jwks_uri.startswith("https://127.0.0.1:") or found.jwks_uri.startswith("https://")
    assert "RS256" in found.algorithms
    token = tokens.request_token(lab, namespace, "default").token
    assert verify(token, found.jwks, issuer=found.issuer, audience=found.issuer).verified
    with pytest.raises(jwt.InvalidAudienceError):
        verify(token, found.jwks, issuer=found.issuer, audience="https://someone-else")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        dict(decode_unverified(token)),
        other,
        algorithm="RS256",
        headers={"kid": jwt.get_unverified_header(token)["kid"]},
    )
    with pytest.raises(jwt.InvalidSignatureError):
        verify(forged, found.jwks, issuer=found.issuer, audience=found.issuer)
    wrong_set = {
        "keys": [
            {
                **jwt.algorithms.RSAAlgorithm.to_jwk(other.public_key(), as_dict=True),
                "kid": jwt.get_unverified_header(token)["kid"],
                "alg": "RS256",
                "use": "sig",
            }
        ]
    }
    with pytest.raises(jwt.InvalidSignatureError):
        verify(token, wrong_set, issuer=found.issuer, audience=found.issuer)
    assert other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )  # the wrong key really is a different key


def test_automount_style_token_is_extended_to_a_year_with_warnafter(lab, pods):
    before = dt.datetime.now(dt.UTC)
    issued = tokens.request_token(lab, pods, "default", expiration_seconds=3607, bound_pod="app")
    claims = verify_with_cluster(lab, issued.token)
    assert claims["exp"] - claims["iat"] == YEAR
    assert claims["kubernetes.io"]["warnafter"] - claims["iat"] == 3607
    reported = (issued.expires - before).total_seconds()
    assert 3600 <= reported <= 3615, reported  # the status still says about an hour


def test_kubelet_equivalent_token_names_default_and_the_pod(lab, pods):
    pod = lab.core.read_namespaced_pod("app", pods)
    issued = tokens.pod_token(lab, pods, "app")
    claims = verify_with_cluster(lab, issued.token)
    k8s = claims["kubernetes.io"]
    assert claims["sub"] == f"system:serviceaccount:{pods}:default"
    assert k8s["pod"] == {"name": "app", "uid": pod.metadata.uid}
    assert "node" not in k8s  # no node: the pod never got scheduled
    assert claims["exp"] - claims["iat"] == YEAR
    if not lab.capabilities.exec:
        assert "TokenRequest the kubelet makes" in issued.how


def test_custom_projected_token_has_its_audience_and_expiry(lab, pods):
    issued = tokens.pod_token(lab, pods, "my-app")
    claims = verify_with_cluster(lab, issued.token, audience="https://my-api.example.com")
    assert claims["aud"] == ["https://my-api.example.com"] and claims["exp"] - claims["iat"] == 3600
    assert (
        tokens.projected_token_sources(lab.core.read_namespaced_pod("my-app", pods))[0]["path"]
        == "/var/run/secrets/tokens/api-token"
    )


def test_token_review_audiences(lab, pods):
    token = tokens.pod_token(lab, pods, "my-app").token
    wrong = tokens.review(lab, token)  # the API server's own audience
    assert not wrong.authenticated and "token audiences" in wrong.error and "is invalid" in wrong.error
    right = tokens.review(lab, token, ["https://my-api.example.com"])
    assert right.authenticated and right.username == f"system:serviceaccount:{pods}:my-app-sa"
    assert f"system:serviceaccounts:{pods}" in right.groups
    assert right.extra["authentication.kubernetes.io/pod-name"] == ["my-app"]
    assert tokens.review(lab, "not-a-token").error == "invalid bearer token"


def test_pod_bound_token_stops_working_after_the_pod_is_deleted(lab, pods):
    token = tokens.request_token(lab, pods, "default", bound_pod="app").token
    demo = tokens.demonstrate_pod_binding(lab, pods, "app", token)
    assert demo.before.authenticated
    assert not demo.after.authenticated
    assert "service account token has been invalidated" in demo.after.error
    with pytest.raises(tokens.TokenRequestRefused) as refused:
        tokens.request_token(lab, pods, "default", bound_pod="app")
    assert refused.value.status == 404 and "not found" in refused.value.message


def test_legacy_secret_token_never_expires(lab, pods):
    manifests.apply(lab, "03-legacy-token-secret", pods)
    issued = tokens.legacy_token(lab, pods, "my-app-sa-legacy-token")
    claims = verify_with_cluster(lab, issued.token)
    assert claims["iss"] == LEGACY_ISSUER
    assert "exp" not in claims and "aud" not in claims
    assert "never expires" in claims.how
    assert tokens.review(lab, issued.token).authenticated


def test_minimum_expiry_is_ten_minutes(lab, namespace):
    with pytest.raises(tokens.TokenRequestRefused) as refused:
        tokens.request_token(lab, namespace, "default", expiration_seconds=599)
    assert refused.value.status == 422
    assert "may not specify a duration less than 10 minutes" in refused.value.message
    assert tokens.request_token(lab, namespace, "default", expiration_seconds=600).expiration_seconds == 600


def test_longer_than_the_cap_is_shortened_with_a_warning(lab, namespace):
    issued = tokens.request_token(lab, namespace, "default", expiration_seconds=259_200)
    assert issued.expiration_seconds == 172_800
    assert issued.warnings == ["requested expiration of 259200 seconds shortened to 172800 seconds"]
    claims = decode_unverified(issued.token)
    assert claims["exp"] - claims["iat"] == 172_800

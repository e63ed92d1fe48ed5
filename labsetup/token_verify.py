"""Verify service-account tokens the way an outside party would: discovery, JWKS, PyJWT.

The issuer's discovery document and key set are fetched from the live API server
(`/.well-known/openid-configuration`, `/openid/v1/jwks`; both need credentials by default).
The algorithm comes from the key set, never from the token. Decoding without verification is
available, and the result says so.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt

from labsetup.errors import InputError

if TYPE_CHECKING:
    from labsetup.lab import Lab

LEGACY_ISSUER = "kubernetes/serviceaccount"
BOUND_REQUIRED = ["exp", "iat", "nbf", "iss", "aud", "sub"]
LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class Discovery:
    """The cluster's issuer, where its keys are published, and the keys themselves."""

    issuer: str
    jwks_uri: str
    algorithms: list[str]
    jwks: dict[str, Any]


class Claims(dict[str, Any]):
    """A token's claims, with whether they were verified (signature, issuer, audience, times)."""

    def __init__(self, claims: dict[str, Any], verified: bool, how: str) -> None:
        super().__init__(claims)
        self.verified, self.how = verified, how

    def __repr__(self) -> str:
        label = "VERIFIED" if self.verified else "UNVERIFIED (decoded only: anyone could have written this)"
        return f"{label}: {self.how}\n{json.dumps(dict(self), indent=2, default=str)}"


def _get_json(lab: Lab, path: str) -> dict[str, Any]:
    resp = lab.api_client.call_api("GET", lab.api_client.configuration.host + path)
    resp.read()
    if resp.status != 200:
        raise InputError(f"GET {path} answered {resp.status}")
    return dict(json.loads(resp.data))


def discover(lab: Lab) -> Discovery:
    """Fetch the issuer discovery document and the key set from the cluster."""
    doc = _get_json(lab, "/.well-known/openid-configuration")
    jwks = _get_json(lab, "/openid/v1/jwks")
    return Discovery(
        doc["issuer"], doc["jwks_uri"], list(doc.get("id_token_signing_alg_values_supported", [])), jwks
    )


def decode_unverified(token: str) -> Claims:
    """Decode a token's claims WITHOUT checking anything; the result is labelled unverified."""
    return Claims(jwt.decode(token, options={"verify_signature": False}), False, "signature not checked")


def header(token: str) -> dict[str, Any]:
    """Return a token's (unverified) JOSE header: alg and kid."""
    return dict(jwt.get_unverified_header(token))


def verify(
    token: str,
    jwks: dict[str, Any],
    *,
    issuer: str,
    audience: str | None = None,
    now: dt.datetime | None = None,
    leeway: int = LEEWAY_SECONDS,
) -> Claims:
    """Verify signature, issuer, audience and validity times; return the claims.

    A bound token needs `audience` and must carry exp/iat/nbf/aud. A legacy token (issuer
    `kubernetes/serviceaccount`) has no aud and no exp: pass issuer=LEGACY_ISSUER and no
    audience; it is then reported as never expiring. `now` checks the times at another moment
    (for captured tokens); if unset, the current time. Raises jwt.InvalidTokenError subclasses.
    """
    kid = header(token).get("kid")
    keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(jwks).keys}
    if kid not in keys:
        raise jwt.InvalidSignatureError(f"no key with kid {kid!r} in the key set")
    key = keys[kid]
    algorithm = key.algorithm_name
    legacy = issuer == LEGACY_ISSUER
    claims = jwt.decode(
        token,
        key=key,
        algorithms=[algorithm],
        issuer=issuer,
        audience=None if legacy else audience,
        options={
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
            "verify_aud": not legacy,
            "require": ["iss", "sub"] if legacy else BOUND_REQUIRED,
        },
    )
    moment = (now or dt.datetime.now(dt.UTC)).timestamp()
    if "exp" in claims and moment > claims["exp"] + leeway:
        raise jwt.ExpiredSignatureError("Signature has expired")
    if "nbf" in claims and moment < claims["nbf"] - leeway:
        raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    lifetime = "never expires (no exp claim)" if "exp" not in claims else f"valid until {claims['exp']}"
    return Claims(claims, True, f"{algorithm} signature by key {kid}, issuer {issuer}, {lifetime}")


def verify_with_cluster(lab: Lab, token: str, audience: str | None = None) -> Claims:
    """Verify a token against the live cluster's keys; bound tokens default to the issuer as audience."""
    found = discover(lab)
    unverified = decode_unverified(token)
    if unverified.get("iss") == LEGACY_ISSUER:
        return verify(token, found.jwks, issuer=LEGACY_ISSUER)
    return verify(token, found.jwks, issuer=found.issuer, audience=audience or found.issuer)

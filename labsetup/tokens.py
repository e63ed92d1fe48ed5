"""Service-account tokens from the live API server: request, mount-equivalent, legacy, review.

Every token here is minted by the cluster itself. Where a backend runs no kubelet, the token a
pod "would carry" is obtained with the same TokenRequest the kubelet makes for that pod (same
account, audience and expiry, bound to the pod), and says so.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labsetup.errors import InputError, LabError

if TYPE_CHECKING:
    from labsetup.lab import Lab

MIN_EXPIRATION_SECONDS = 600
"""TokenRequest refuses anything shorter (422: "may not specify a duration less than 10 minutes")."""
KUBELET_EXPIRATION_SECONDS = 3607
"""What the automatic kube-api-access volume asks for; the API server extends it to a year."""
EXTENDED_EXPIRATION_SECONDS = 365 * 24 * 3600


class TokenRequestRefused(LabError):
    """The API server refused a TokenRequest; carries its status code and message."""

    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message
        super().__init__(f"the API server refused the TokenRequest ({status}): {message}")


@dataclass
class IssuedToken:
    """A token the API server issued, with what it said about it."""

    token: str
    namespace: str
    service_account: str
    audiences: list[str]
    expiration_seconds: int | None
    expires: dt.datetime | None
    warnings: list[str] = field(default_factory=list)
    how: str = ""

    def __repr__(self) -> str:
        who = f"{self.namespace}/{self.service_account}"
        return f"IssuedToken({who}, {self.how or 'TokenRequest'}, {self.token[:16]}...)"


def _message(err: Any) -> str:
    try:
        return str(json.loads(err.body)["message"])
    except (TypeError, ValueError, KeyError):
        return str(err.reason)


def request_token(
    lab: Lab,
    namespace: str,
    service_account: str,
    *,
    audiences: list[str] | None = None,
    expiration_seconds: int | None = None,
    bound_pod: str | None = None,
    bound_secret: str | None = None,
) -> IssuedToken:
    """Ask the API server for a token (TokenRequest), optionally bound to a Pod or a Secret.

    Raises TokenRequestRefused with the server's own message (e.g. an expiry under 10 minutes).
    The server's HTTP warnings (e.g. an expiry shortened to the configured maximum) are kept.
    """
    from kubernetes.client.exceptions import ApiException

    spec: dict[str, Any] = {}
    if audiences:
        spec["audiences"] = audiences
    if expiration_seconds is not None:
        spec["expirationSeconds"] = expiration_seconds
    if bound_pod and bound_secret:
        raise InputError("a token can be bound to a Pod or to a Secret, not both")
    try:
        if bound_pod or bound_secret:
            kind, name = ("Pod", bound_pod) if bound_pod else ("Secret", bound_secret)
            read = lab.core.read_namespaced_pod if bound_pod else lab.core.read_namespaced_secret
            uid = read(name, namespace).metadata.uid
            spec["boundObjectRef"] = {"apiVersion": "v1", "kind": kind, "name": name, "uid": uid}
        data, _, headers = lab.core.create_namespaced_service_account_token_with_http_info(
            service_account, namespace, {"spec": spec}
        )
    except ApiException as err:
        raise TokenRequestRefused(err.status, _message(err)) from err
    warnings = [h.split('"')[1] if '"' in h else h for k, h in headers.items() if k.lower() == "warning"]
    return IssuedToken(
        token=data.status.token,
        namespace=namespace,
        service_account=service_account,
        audiences=list(data.spec.audiences or []),
        expiration_seconds=data.spec.expiration_seconds,
        expires=data.status.expiration_timestamp,
        warnings=warnings,
        how="TokenRequest" + (f" bound to {kind} {name}" if bound_pod or bound_secret else ""),
    )


def projected_token_sources(pod: Any) -> list[dict[str, Any]]:
    """Return each serviceAccountToken source of a pod's projected volumes with its mount path.

    Each item: volume, path (full path inside the first container mounting it), audience (None =
    the API server's), expirationSeconds.
    """
    from labsetup.automount import TOKEN_MOUNT_PATH

    spec = pod.spec
    mounts = {m.name: m.mount_path for c in spec.containers for m in (c.volume_mounts or [])}
    found = []
    for vol in spec.volumes or []:
        for source in (vol.projected.sources if vol.projected else []) or []:
            sat = source.service_account_token
            if sat is None:
                continue
            base = mounts.get(vol.name, TOKEN_MOUNT_PATH)
            found.append(
                {
                    "volume": vol.name,
                    "path": f"{base}/{sat.path}",
                    "audience": sat.audience,
                    "expirationSeconds": sat.expiration_seconds or KUBELET_EXPIRATION_SECONDS,
                }
            )
    return found


def pod_token(lab: Lab, namespace: str, pod_name: str, volume: str | None = None) -> IssuedToken:
    """Return the token a pod carries in a projected volume (the first one, or `volume`).

    With a node (capability `exec`) it is read from inside the running pod. Otherwise the lab
    performs the kubelet's own TokenRequest for that pod: the pod's account, the volume's audience
    and expiry, bound to the pod; the result says so in `how`.
    """
    pod = lab.core.read_namespaced_pod(pod_name, namespace)
    sources = [s for s in projected_token_sources(pod) if volume in (None, s["volume"])]
    if not sources:
        raise InputError(
            f"pod {namespace}/{pod_name} has no projected service-account token; automount is off"
        )
    source = sources[0]
    account = pod.spec.service_account_name or "default"
    if lab.capabilities.exec:
        from labsetup.pods import read_file_in_pod, wait_running

        wait_running(lab, namespace, pod_name)
        text = read_file_in_pod(lab, namespace, pod_name, source["path"])
        if text:
            return IssuedToken(
                text.strip(),
                namespace,
                account,
                [source["audience"]] if source["audience"] else [],
                source["expirationSeconds"],
                None,
                [],
                f"read from {source['path']} inside the pod",
            )
    issued = request_token(
        lab,
        namespace,
        account,
        audiences=[source["audience"]] if source["audience"] else None,
        expiration_seconds=source["expirationSeconds"],
        bound_pod=pod_name,
    )
    issued.how = (
        f"no kubelet here: the same TokenRequest the kubelet makes for {source['path']} "
        f"(account {account}, {source['expirationSeconds']} s, bound to pod {pod_name})"
    )
    return issued


def legacy_token(lab: Lab, namespace: str, secret_name: str, timeout: float = 30.0) -> IssuedToken:
    """Wait until the controller manager fills a legacy service-account-token Secret; return its token."""
    import base64

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        secret = lab.core.read_namespaced_secret(secret_name, namespace)
        if secret.data and secret.data.get("token"):
            account = secret.metadata.annotations["kubernetes.io/service-account.name"]
            token = base64.b64decode(secret.data["token"]).decode()
            return IssuedToken(
                token,
                namespace,
                account,
                [],
                None,
                None,
                [],
                f"legacy Secret {secret_name}, filled by the controller manager",
            )
        time.sleep(0.1)
    raise LabError(
        f"Secret {namespace}/{secret_name} got no token in {timeout:.0f}s; is the token controller running?"
    )


@dataclass
class Review:
    """The API server's TokenReview answer."""

    authenticated: bool
    username: str
    groups: list[str]
    extra: dict[str, list[str]]
    audiences: list[str]
    error: str

    def __repr__(self) -> str:
        if self.authenticated:
            return f"authenticated as {self.username} (audiences {self.audiences})"
        return f"NOT authenticated: {self.error}"


def review(lab: Lab, token: str, audiences: list[str] | None = None) -> Review:
    """Ask the API server whether a token authenticates (TokenReview), for the given audiences."""
    from kubernetes.client import AuthenticationV1Api

    spec: dict[str, Any] = {"token": token}
    if audiences:
        spec["audiences"] = audiences
    status = AuthenticationV1Api(lab.api_client).create_token_review({"spec": spec}).status
    user = status.user
    return Review(
        bool(status.authenticated),
        user.username if user else "",
        list(user.groups or []) if user else [],
        dict(user.extra or {}) if user else {},
        list(status.audiences or []),
        status.error or "",
    )


@dataclass
class BindingDemo:
    """Pod binding end to end: the review before deletion, after it, and how long invalidation took."""

    before: Review
    after: Review
    seconds_to_invalid: float


def demonstrate_pod_binding(
    lab: Lab,
    namespace: str,
    pod_name: str,
    token: str,
    audiences: list[str] | None = None,
    timeout: float = 40.0,
) -> BindingDemo:
    """Review a pod-bound token, delete the pod, and poll TokenReview until the token is refused.

    The API server caches successful reviews for about 10 s, so the token keeps working briefly.
    """
    before = review(lab, token, audiences)
    lab.core.delete_namespaced_pod(pod_name, namespace, grace_period_seconds=0)
    start = time.monotonic()
    after = review(lab, token, audiences)
    while after.authenticated and time.monotonic() - start < timeout:
        time.sleep(0.5)
        after = review(lab, token, audiences)
    return BindingDemo(before, after, time.monotonic() - start)

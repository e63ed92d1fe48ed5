"""Show tokens to a learner: a claims table, and a picture of token lifetimes.

Both take real tokens; times are shown in UTC with a plain-language duration.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labsetup.show import Table
from labsetup.token_verify import decode_unverified

MEANING = {
    "iss": "issuer: who signed it",
    "sub": "subject: the identity it proves",
    "aud": "audiences: who should accept it",
    "iat": "issued at",
    "nbf": "not valid before",
    "exp": "expires",
    "jti": "unique token id",
    "kubernetes.io.namespace": "namespace of the account",
    "kubernetes.io.serviceaccount": "the ServiceAccount (name, uid)",
    "kubernetes.io.pod": "bound pod: the token dies with it",
    "kubernetes.io.node": "node the pod runs on",
    "kubernetes.io.secret": "bound Secret: the token dies with it",
    "kubernetes.io.warnafter": "after this, use is logged as stale (the kubelet refreshes before)",
}
TIME_CLAIMS = ("iat", "nbf", "exp", "kubernetes.io.warnafter")


def duration(seconds: float) -> str:
    """Return a short human duration: '59 min', '1 h', '365 d'."""
    seconds = abs(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            value = seconds / size
            return f"{value:.0f} {unit}" if value >= 10 or value == int(value) else f"{value:.1f} {unit}"
    return f"{seconds:.0f} s"


def flatten(claims: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten the nested `kubernetes.io` claim into `kubernetes.io.<key>` entries."""
    flat = {k: v for k, v in claims.items() if k != "kubernetes.io"}
    for key, value in (claims.get("kubernetes.io") or {}).items():
        flat[f"kubernetes.io.{key}"] = value
    return flat


def _value(key: str, value: Any, iat: float | None, now: float) -> str:
    if key in TIME_CLAIMS and isinstance(value, int | float):
        when = dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        rel = f"issued +{duration(value - iat)}" if iat is not None and key != "iat" else ""
        ago = f"{duration(now - value)} ago" if value <= now else f"in {duration(value - now)}"
        return f"{when} ({', '.join(x for x in (rel, ago) if x)})"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def claims_table(token: str | Mapping[str, Any], now: dt.datetime | None = None) -> Table:
    """Return the token's claims as a table (claim, value, meaning); `rows` keep raw values too."""
    claims = decode_unverified(token) if isinstance(token, str) else token
    flat = flatten(claims)
    moment = (now or dt.datetime.now(dt.UTC)).timestamp()
    iat = flat.get("iat")
    order = [k for k in MEANING if k in flat] + [k for k in flat if k not in MEANING]
    rows = [
        {"claim": k, "value": _value(k, flat[k], iat, moment), "meaning": MEANING.get(k, ""), "raw": flat[k]}
        for k in order
    ]
    if "exp" not in flat:
        rows.append({"claim": "exp", "value": "(absent)", "meaning": "never expires", "raw": None})
    return Table(rows, ["claim", "value", "meaning"], "Token claims")


@dataclass(frozen=True)
class Lifetime:
    """One token's timeline, in seconds after it was issued (None: no expiry)."""

    label: str
    lifetime: float | None
    warn_after: float | None
    age: float


class LifetimePicture:
    """Token lifetimes side by side on one log-scaled time axis; displays as PNG in Jupyter."""

    TICKS = (
        (60, "1 min"),
        (600, "10 min"),
        (3600, "1 h"),
        (86400, "1 d"),
        (7 * 86400, "1 wk"),
        (30 * 86400, "30 d"),
        (365 * 86400, "1 y"),
        (10 * 365 * 86400, "10 y"),
    )

    def __init__(self, lifetimes: list[Lifetime]) -> None:
        from matplotlib.figure import Figure

        self.lifetimes = lifetimes
        self.figure = fig = Figure(figsize=(9, 0.9 + 0.75 * len(lifetimes)))
        ax = fig.subplots()
        right = 30 * 365 * 86400
        for i, item in enumerate(lifetimes):
            end = item.lifetime if item.lifetime is not None else right
            color = "tab:red" if item.lifetime is None else "tab:blue"
            ax.barh(i, end - 1, left=1, color=color, alpha=0.35, height=0.5)
            text = "no expiry" if item.lifetime is None else f"expires after {duration(item.lifetime)}"
            ax.text(min(end, right) / 1.3, i, text, va="center", ha="right", fontsize=9)
            if item.warn_after:
                ax.plot([item.warn_after] * 2, [i - 0.3, i + 0.3], color="tab:orange", lw=2)
                ax.text(
                    item.warn_after,
                    i - 0.3,
                    f"warnafter {duration(item.warn_after)}",
                    fontsize=8,
                    color="tab:orange",
                    ha="center",
                    va="bottom",
                )
            ax.plot([max(item.age, 1)] * 2, [i - 0.3, i + 0.3], color="black", lw=1.5)
        ax.set_xscale("log")
        ax.set_xlim(1, right)
        ax.set_xticks([t for t, _ in self.TICKS], [name for _, name in self.TICKS])
        ax.set_yticks(range(len(lifetimes)), [item.label for item in lifetimes])
        ax.invert_yaxis()
        ax.set_xlabel("time after the token was issued (log scale); black tick: now")
        ax.set_title("How long each token works")
        fig.tight_layout()

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=90)
        return buf.getvalue()

    def __repr__(self) -> str:
        return "\n".join(
            f"{x.label}: {'no expiry' if x.lifetime is None else duration(x.lifetime)}"
            + (f", warnafter {duration(x.warn_after)}" if x.warn_after else "")
            for x in self.lifetimes
        )


def lifetime(label: str, token: str, now: dt.datetime | None = None) -> Lifetime:
    """Return a token's timeline from its claims."""
    flat = flatten(decode_unverified(token))
    moment = (now or dt.datetime.now(dt.UTC)).timestamp()
    iat = flat.get("iat")
    exp, warn = flat.get("exp"), flat.get("kubernetes.io.warnafter")
    if iat is None:  # legacy tokens carry no iat; their age is unknown
        return Lifetime(label, None, None, 1.0)
    return Lifetime(
        label,
        None if exp is None else exp - iat,
        None if warn is None else warn - iat,
        max(moment - iat, 1.0),
    )


def lifetime_picture(tokens: Mapping[str, str], now: dt.datetime | None = None) -> LifetimePicture:
    """Draw the lifetimes of several labelled tokens on one axis."""
    return LifetimePicture([lifetime(label, tok, now) for label, tok in tokens.items()])

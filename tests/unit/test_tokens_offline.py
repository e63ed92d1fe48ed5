"""Verification and display on tokens captured from the live control plane."""

import datetime as dt
import json
from pathlib import Path

import jwt
import pytest

from labsetup.token_verify import LEGACY_ISSUER, decode_unverified, verify
from labsetup.token_view import claims_table, duration, lifetime_picture

DATA = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "tokens" / "captured.json").read_text())
TOKENS = DATA["tokens"]
AT = dt.datetime.fromtimestamp(DATA["capturedAt"] + 5, dt.UTC)  # just after capture: every token was valid
ISSUER = DATA["issuer"]


def test_captured_key_set_is_rs256():
    assert DATA["discovery_algorithms"] == ["RS256"]
    assert {k["alg"] for k in DATA["jwks"]["keys"]} == {"RS256"}


def test_bound_token_verifies_at_capture_time():
    claims = verify(
        TOKENS["custom_projected"], DATA["jwks"], issuer=ISSUER, audience="https://my-api.example.com", now=AT
    )
    assert claims.verified and claims["kubernetes.io"]["pod"]["name"] == "my-app"


def test_a_flipped_signature_byte_is_rejected():
    head, body, sig = TOKENS["automounted"].split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    with pytest.raises(jwt.InvalidSignatureError):
        verify(f"{head}.{body}.{flipped}", DATA["jwks"], issuer=ISSUER, audience=ISSUER, now=AT)


def test_a_changed_claim_breaks_the_signature():
    token = TOKENS["automounted"]
    head, _, sig = token.split(".")
    claims = dict(decode_unverified(token), sub="system:serviceaccount:kube-system:admin")
    body = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        verify(f"{head}.{body}.{sig}", DATA["jwks"], issuer=ISSUER, audience=ISSUER, now=AT)


@pytest.mark.parametrize("audience", ["https://my-api.example.com", "https://other"])
def test_the_api_audience_token_is_refused_for_other_audiences(audience):
    with pytest.raises(jwt.InvalidAudienceError):
        verify(TOKENS["automounted"], DATA["jwks"], issuer=ISSUER, audience=audience, now=AT)


def test_a_wrong_issuer_is_refused():
    with pytest.raises(jwt.InvalidIssuerError):
        verify(TOKENS["automounted"], DATA["jwks"], issuer="https://evil.example", audience=ISSUER, now=AT)


def test_expiry_is_enforced_after_the_hour():
    later = AT + dt.timedelta(hours=2)
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(
            TOKENS["custom_projected"],
            DATA["jwks"],
            issuer=ISSUER,
            audience="https://my-api.example.com",
            now=later,
        )
    # the automounted one was extended to a year, so it is still valid two hours later
    assert verify(TOKENS["automounted"], DATA["jwks"], issuer=ISSUER, audience=ISSUER, now=later).verified


def test_legacy_token_verifies_and_never_expires():
    claims = verify(TOKENS["legacy"], DATA["jwks"], issuer=LEGACY_ISSUER, now=AT + dt.timedelta(days=3650))
    assert claims.verified and "exp" not in claims and "never expires" in claims.how
    with pytest.raises(jwt.MissingRequiredClaimError):  # a verifier that requires exp refuses it
        verify(TOKENS["legacy"], DATA["jwks"], issuer=ISSUER, audience=ISSUER, now=AT)


def test_unverified_decode_is_labelled():
    claims = decode_unverified(TOKENS["automounted"])
    assert not claims.verified and repr(claims).startswith("UNVERIFIED")


def test_claims_table_explains_the_automounted_token():
    table = claims_table(TOKENS["automounted"], now=AT)
    rows = {r["claim"]: r for r in table.rows}
    assert rows["exp"]["raw"] - rows["iat"]["raw"] == 31_536_000
    assert rows["kubernetes.io.warnafter"]["raw"] - rows["iat"]["raw"] == 3607
    assert (
        "issued +365 d" in rows["exp"]["value"]
        and "issued +1.0 h" in rows["kubernetes.io.warnafter"]["value"]
    )
    assert rows["kubernetes.io.pod"]["value"].startswith("name=app")
    assert "<table" in table._repr_html_()


def test_claims_table_marks_the_legacy_token_as_never_expiring():
    rows = {r["claim"]: r for r in claims_table(TOKENS["legacy"], now=AT).rows}
    assert rows["exp"]["meaning"] == "never expires"


def test_lifetime_picture_has_one_bar_per_token():
    picture = lifetime_picture(
        {
            "projected": TOKENS["custom_projected"],
            "automounted": TOKENS["automounted"],
            "legacy": TOKENS["legacy"],
        },
        now=AT,
    )
    by_label = {x.label: x for x in picture.lifetimes}
    assert by_label["projected"].lifetime == 3600 and by_label["projected"].warn_after is None
    assert by_label["automounted"].lifetime == 31_536_000 and by_label["automounted"].warn_after == 3607
    assert by_label["legacy"].lifetime is None
    ax = picture.figure.axes[0]
    assert len(ax.patches) == 3 and [t.get_text() for t in ax.get_yticklabels()] == list(by_label)
    assert any("warnafter" in t.get_text() for t in ax.texts) and any(
        t.get_text() == "no expiry" for t in ax.texts
    )
    assert picture._repr_png_().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("seconds", "text"), [(59, "59 s"), (3600, "1 h"), (3607, "1.0 h"), (31_536_000, "365 d")]
)
def test_duration(seconds, text):
    assert duration(seconds) == text

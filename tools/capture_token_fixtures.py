"""Capture real tokens, the key set and the discovery document from a live lab, for unit tests.

    SA_LAB_DIR=/tmp/capture python tools/capture_token_fixtures.py

Writes tests/fixtures/tokens/captured.json. Nothing in it is written by hand.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import labsetup
from labsetup import manifests, tokens
from labsetup.token_verify import discover

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    lab = labsetup.connect()
    ns = lab.namespace("capture")
    manifests.apply(lab, "01-pod-no-serviceaccount", ns)
    manifests.apply(lab, "03-projected-token-pod", ns)
    manifests.apply(lab, "03-legacy-token-secret", ns)
    found = discover(lab)
    captured = {
        "capturedAt": int(time.time()),
        "capturedFrom": f"sa-lab embedded control plane {lab.version()}",
        "issuer": found.issuer,
        "discovery_algorithms": found.algorithms,
        "jwks": found.jwks,
        "tokens": {
            "custom_projected": tokens.pod_token(lab, ns, "my-app").token,
            "automounted": tokens.pod_token(lab, ns, "app").token,
            "legacy": tokens.legacy_token(lab, ns, "my-app-sa-legacy-token").token,
        },
    }
    out = ROOT / "tests" / "fixtures" / "tokens" / "captured.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(captured, indent=1) + "\n")
    lab.delete_namespace(ns)
    print(out)


if __name__ == "__main__":
    main()

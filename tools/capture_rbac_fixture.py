"""Capture the RBAC objects of a freshly started embedded lab as a unit-test fixture.

    SA_LAB_DIR=/tmp/capture python tools/capture_rbac_fixture.py

Writes tests/fixtures/rbac/live-embedded-<version>.json: a kubectl-style List of the
ClusterRoles, Roles, ClusterRoleBindings, RoleBindings and ServiceAccounts, as the live
control plane returned them (nothing is written by hand).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import labsetup
from labsetup.audit import load_from_cluster

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    lab = labsetup.connect()
    items = load_from_cluster(lab.api_client)
    for item in items:  # volatile fields only; the content stays as served
        meta = item.get("metadata", {})
        for key in ("managedFields", "resourceVersion", "uid", "creationTimestamp"):
            meta.pop(key, None)
    dump = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {
            "capturedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "capturedFrom": f"sa-lab embedded control plane {lab.version()}",
        },
        "items": sorted(
            items, key=lambda o: (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
        ),
    }
    out = ROOT / "tests" / "fixtures" / "rbac" / f"live-embedded-{lab.version()}.json"
    out.write_text(json.dumps(dump, indent=1, sort_keys=True) + "\n")
    print(f"{out}: {len(items)} objects")


if __name__ == "__main__":
    main()

"""Benchmark the RBAC audit on a generated dump (10,000 bindings, 2,000 roles) against the seed's jq filter.

    python tools/bench_audit.py                 # print the Markdown section
    python tools/bench_audit.py --write         # also replace "## RBAC audit" in BENCHMARKS.md
    python tools/bench_audit.py --dump out.json # keep the generated dump

The dump is deterministic (--seed). Timings are medians of --runs runs in one process, each after a
gc.collect() (the cyclic GC stays on while timing); the audit is timed from parsed objects to sorted findings
(Policy build, aggregation, matching, findings), JSON parsing apart.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labsetup._files import write_atomic
from labsetup.audit import audit
from labsetup.seed_query import FIXED_FILTER, SEED_FILTER, run_filter

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## RBAC audit"
TARGET_S = 1.0
RBAC = "rbac.authorization.k8s.io"
BOOT = {"kubernetes.io/bootstrapping": "rbac-defaults"}

# (apiGroup, resource) pairs a realistic role draws from, subresources included.
_VOCAB_TEXT = """
/pods /pods/log /pods/exec /pods/attach /pods/portforward /pods/status /services /services/status /endpoints
/configmaps /secrets /serviceaccounts /serviceaccounts/token /events /persistentvolumeclaims
/persistentvolumes /nodes /nodes/proxy /namespaces /replicationcontrollers /limitranges /resourcequotas
apps/deployments apps/daemonsets apps/statefulsets apps/replicasets apps/deployments/scale batch/jobs
batch/cronjobs networking.k8s.io/ingresses networking.k8s.io/networkpolicies coordination.k8s.io/leases
discovery.k8s.io/endpointslices rbac.authorization.k8s.io/roles rbac.authorization.k8s.io/rolebindings
autoscaling/horizontalpodautoscalers policy/poddisruptionbudgets monitoring.example.com/servicemonitors
example.com/secrets
"""
VOCAB = [(entry.partition("/")[0], entry.partition("/")[2]) for entry in _VOCAB_TEXT.split()]
READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete"]


def _rule(rng: random.Random, cluster: bool) -> dict[str, Any]:
    roll = rng.random()
    if cluster and roll < 0.02:
        return {"nonResourceURLs": [rng.choice(["/metrics", "/healthz", "/api/*"])], "verbs": ["get"]}
    group, resource = rng.choice(VOCAB)
    resources = [resource, *(r for g, r in rng.sample(VOCAB, rng.randint(0, 3)) if g == group)]
    verbs = READ[: rng.randint(1, 3)] + (rng.sample(WRITE, rng.randint(1, 3)) if rng.random() < 0.35 else [])
    rule: dict[str, Any] = {"apiGroups": [group], "resources": sorted(set(resources)), "verbs": verbs}
    if roll < 0.05:
        rule["resources"] = ["*"]
    elif roll < 0.08:
        rule["verbs"] = ["*"]
    elif roll < 0.10:
        rule["apiGroups"] = ["*"]
    elif roll < 0.13:
        rule["resourceNames"] = [f"obj-{rng.randint(0, 99)}"]
    return rule


def generate(
    seed: int = 1, bindings: int = 10_000, roles: int = 2_000, namespaces: int = 300
) -> dict[str, Any]:
    """Return a kubectl-style List: roles, cluster roles, bindings and ServiceAccounts."""
    rng = random.Random(seed)
    nss = ["kube-system", *(f"team-{i:03d}" for i in range(namespaces))]
    items: list[dict[str, Any]] = []

    def meta(name: str, ns: str | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name}
        if ns:
            out["namespace"] = ns
        if labels:
            out["labels"] = labels
        return out

    cluster_roles = ["cluster-admin", "admin", "edit", "view"]
    items.append(
        {
            "kind": "ClusterRole",
            "metadata": meta("cluster-admin", labels=BOOT),
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
        }
    )
    for name, target in (("admin", None), ("edit", "admin"), ("view", "edit")):
        labels = {**BOOT, **({f"{RBAC}/aggregate-to-{target}": "true"} if target else {})}
        selector = {"matchLabels": {f"{RBAC}/aggregate-to-{name}": "true"}}
        items.append(
            {
                "kind": "ClusterRole",
                "metadata": meta(name, labels=labels),
                "aggregationRule": {"clusterRoleSelectors": [selector]},
                "rules": [],
            }
        )
    n_cluster = roles // 4
    for i in range(n_cluster - len(cluster_roles)):
        name = f"system:controller:c{i}" if i < 40 else f"custom-{i}"
        labels = dict(BOOT) if i < 40 else {}
        if 40 <= i < 60:
            labels[f"{RBAC}/aggregate-to-{rng.choice(['admin', 'edit', 'view'])}"] = "true"
        rules = [_rule(rng, True) for _ in range(rng.randint(1, 8))]
        items.append({"kind": "ClusterRole", "metadata": meta(name, labels=labels), "rules": rules})
        cluster_roles.append(name)
    ns_roles: dict[str, list[str]] = {ns: [] for ns in nss}
    for i in range(roles - n_cluster):
        ns = rng.choice(nss)
        items.append(
            {
                "kind": "Role",
                "metadata": meta(f"role-{i}", ns),
                "rules": [_rule(rng, False) for _ in range(rng.randint(1, 6))],
            }
        )
        ns_roles[ns].append(f"role-{i}")
    sas = {ns: ["default", *(f"sa-{j}" for j in range(rng.randint(2, 12)))] for ns in nss}
    for ns, names in sas.items():
        items.extend({"kind": "ServiceAccount", "apiVersion": "v1", "metadata": meta(n, ns)} for n in names)

    def subjects(ns: str) -> list[dict[str, Any]]:
        out = []
        for _ in range(rng.choices([1, 2, 3], [70, 20, 10])[0]):
            roll = rng.random()
            if roll < 0.8:
                name = rng.choice(sas[ns]) if rng.random() < 0.95 else "deleted-sa"
                out.append({"kind": "ServiceAccount", "name": name, "namespace": ns})
            elif roll < 0.9:
                group = rng.choice([f"system:serviceaccounts:{ns}", "system:authenticated", "devs"])
                out.append({"kind": "Group", "apiGroup": RBAC, "name": group})
            else:
                out.append({"kind": "User", "apiGroup": RBAC, "name": f"user-{rng.randint(0, 50)}"})
        return out

    for i in range(bindings):
        ns = rng.choice(nss)
        if i % 10 < 3:  # 30 % ClusterRoleBindings
            kind, bns, rk, rn = "ClusterRoleBinding", None, "ClusterRole", rng.choice(cluster_roles)
        elif ns_roles[ns] and rng.random() < 0.7:
            kind, bns, rk, rn = "RoleBinding", ns, "Role", rng.choice(ns_roles[ns])
        else:
            kind, bns, rk, rn = "RoleBinding", ns, "ClusterRole", rng.choice(cluster_roles)
        if rng.random() < 0.01:
            rn = f"missing-{i}"
        labels = BOOT if kind == "ClusterRoleBinding" and rn.startswith("system:controller:") else None
        items.append(
            {
                "kind": kind,
                "metadata": meta(f"binding-{i}", bns, labels),
                "roleRef": {"apiGroup": RBAC, "kind": rk, "name": rn},
                "subjects": subjects(ns),
            }
        )
    for item in items:
        item.setdefault("apiVersion", f"{RBAC}/v1")
    return {"apiVersion": "v1", "kind": "List", "items": items}


def _time(func: Callable[[], object], runs: int) -> tuple[float, float, float, object]:
    """Time runs calls; each starts from a collected heap without the previous result alive."""
    times, result = [], None
    for _ in range(runs):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times), result


def measure(seed: int, runs: int) -> tuple[str, float]:
    """Return the Markdown section and the median audit time."""
    dump = generate(seed)
    text = json.dumps(dump)
    kinds: dict[str, int] = {}
    for item in dump["items"]:
        kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
    del dump
    parse = _time(lambda: json.loads(text), runs)
    objects = json.loads(text)["items"]
    aud = _time(lambda: audit(objects), runs)
    report = _time(lambda: json.dumps(aud[3].to_dict()), runs)  # type: ignore[attr-defined]
    seed_q = _time(lambda: run_filter(SEED_FILTER, objects), runs)
    fixed_q = _time(lambda: run_filter(FIXED_FILTER, objects), runs)
    result: Any = aud[3]
    n_seed, n_fixed = len(seed_q[3]), len(fixed_q[3])  # type: ignore[arg-type]

    def fmt(t: tuple[float, float, float, object]) -> str:
        return f"{t[0] * 1000:.0f} ms ({t[1] * 1000:.0f}-{t[2] * 1000:.0f})"

    ok = "met" if aud[0] <= TARGET_S else "**missed**"
    n_bindings = kinds.get("RoleBinding", 0) + kinds.get("ClusterRoleBinding", 0)
    n_roles = kinds.get("Role", 0) + kinds.get("ClusterRole", 0)
    where = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    rows = [
        SECTION,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `python tools/bench_audit.py --write` (seed {seed}, "
        f"{runs} runs in one process, gc.collect() before each, GC on; median (min-max)) on {where}.",
        f"Generated dump: {n_bindings:,} bindings ({kinds.get('ClusterRoleBinding', 0):,} cluster-wide), "
        f"{n_roles:,} roles ({kinds.get('ClusterRole', 0):,} ClusterRoles; admin/edit/view aggregated with "
        f"empty rules), {kinds.get('ServiceAccount', 0):,} ServiceAccounts; {len(text) / 1e6:.1f} MB JSON.",
        "",
        "| measure | time | output | target |",
        "|---|---|---|---|",
        f"| parse the JSON dump | {fmt(parse)} | {len(objects):,} objects | |",
        f"| `labsetup.audit.audit` (policy, aggregation, matching, findings) | {fmt(aud)} | "
        f"{len(result.findings):,} findings, {len(result.warnings):,} warnings | <= {TARGET_S:.0f} s: {ok} |",
        f"| JSON report of those findings (`to_dict` + `json.dumps`) | {fmt(report)} | "
        f"{len(report[3]) / 1e6:.1f} MB | |",  # type: ignore[arg-type]
        f"| seed jq filter (ClusterRoleBindings only; includes handing the objects to jq) | {fmt(seed_q)} | "
        f"{n_seed:,} outputs | |",
        f"| fixed jq filter (one output per binding) | {fmt(fixed_q)} | {n_fixed:,} outputs | |",
        "",
        "The seed's jq filter is faster because it reads only ClusterRoleBindings and never resolves a role; "
        f"it prints {n_seed - n_fixed:,} duplicate outputs (bindings with several ServiceAccount subjects).",
        "",
    ]
    return "\n".join(rows), aud[0]


def replace_section(path: Path, section: str) -> None:
    """Replace (or append) the "## RBAC audit" section of a Markdown file; create it if missing."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == SECTION), None)
    if start is None:
        body = text.rstrip("\n") + "\n\n" + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        tail = "".join(lines[end:])
        body = "".join(lines[:start]) + section + ("\n" + tail if tail else "")
    write_atomic(path, body, mode=0o644)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update the section in --output")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--dump", type=Path, help="also write the generated dump here")
    args = parser.parse_args(argv)
    if args.dump:
        args.dump.write_text(json.dumps(generate(args.seed), indent=1), encoding="utf-8")
    section, median = measure(args.seed, max(args.runs, 1))
    print(section)
    if args.write:
        replace_section(args.output, section)
    return 0 if median <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())

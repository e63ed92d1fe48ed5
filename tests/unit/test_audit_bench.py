"""tools/bench_audit.py: the generated dump and the BENCHMARKS.md section it rewrites."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from labsetup.audit import audit

TOOL = Path(__file__).resolve().parents[2] / "tools" / "bench_audit.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_audit", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_audit", module)
    spec.loader.exec_module(module)
    return module


def test_generate_is_deterministic_and_sized(bench: ModuleType) -> None:
    first, second = bench.generate(7, bindings=300, roles=80), bench.generate(7, bindings=300, roles=80)
    assert first == second and first != bench.generate(8, bindings=300, roles=80)
    kinds = [item["kind"] for item in first["items"]]
    assert kinds.count("RoleBinding") + kinds.count("ClusterRoleBinding") == 300
    assert kinds.count("Role") + kinds.count("ClusterRole") == 80
    result = audit(first["items"])
    assert result.findings and not result.warnings
    assert {f.pattern for f in result.findings} & {"RBAC-33", "RBAC-34", "RBAC-32"}


def test_replace_section_keeps_other_sections(bench: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    bench.replace_section(path, "## RBAC audit\n\nfirst\n")
    assert path.read_text() == "# Benchmarks\n\n## RBAC audit\n\nfirst\n"
    path.write_text(
        "# Benchmarks\n\n## Start-up\n\nkeep me\n\n## RBAC audit\n\nfirst\n\n## Memory\n\nme too\n"
    )
    bench.replace_section(path, "## RBAC audit\n\nsecond\n")
    assert path.read_text() == (
        "# Benchmarks\n\n## Start-up\n\nkeep me\n\n## RBAC audit\n\nsecond\n\n## Memory\n\nme too\n"
    )
    path.write_text("# Benchmarks\n\n## Start-up\n\nkeep me\n")
    bench.replace_section(path, "## RBAC audit\n\nthird\n")
    assert path.read_text() == "# Benchmarks\n\n## Start-up\n\nkeep me\n\n## RBAC audit\n\nthird\n"

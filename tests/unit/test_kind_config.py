"""kind-config.yaml agrees with the pinned versions and sets the lessons' API server flags.

These read the file with PyYAML; test_backends_kind.py runs kind's own code on it.
"""

import re
from pathlib import Path

import yaml

from labsetup.cluster import kind
from labsetup.cluster.embedded import MAX_TOKEN_EXPIRATION
from labsetup.versions import KIND_NODE_IMAGE, KIND_VERSION, KUBERNETES_VERSION, minor

CONFIG_FILE = Path(__file__).resolve().parents[2] / "kind-config.yaml"
CONFIG = yaml.safe_load(CONFIG_FILE.read_text())


def test_cluster_is_one_node_named_for_the_lab_on_loopback():
    assert CONFIG["kind"] == "Cluster" and CONFIG["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert CONFIG["name"] == kind.CLUSTER_NAME == "sa-lab"
    assert [n["role"] for n in CONFIG["nodes"]] == ["control-plane"]
    assert CONFIG["networking"]["apiServerAddress"] == "127.0.0.1"
    assert kind.CONFIG == CONFIG_FILE


def test_node_image_is_pinned_by_digest_to_the_embedded_minor():
    image = CONFIG["nodes"][0]["image"]
    assert image == KIND_NODE_IMAGE
    match = re.fullmatch(r"kindest/node:v(\d+)\.(\d+)\.\d+@sha256:[0-9a-f]{64}", image)
    assert match and f"{match.group(1)}.{match.group(2)}" == minor(KUBERNETES_VERSION)
    assert KIND_VERSION in CONFIG_FILE.read_text()  # the comment names the release the digest is from


def test_node_image_is_new_enough_for_kind_to_render_kubeadm_v1beta4():
    # kind renders kubeadm v1beta3 below 1.36, and a patch stating v1beta4 would then not apply
    major, minor_number = re.search(r":v(\d+)\.(\d+)\.", KIND_NODE_IMAGE).groups()
    assert (int(major), int(minor_number)) >= (1, 36)


def test_kubeadm_patch_uses_v1beta4_list_form_with_the_same_token_cap():
    patches = [yaml.safe_load(p) for p in CONFIG["kubeadmConfigPatches"]]
    cluster = next(p for p in patches if p["kind"] == "ClusterConfiguration")
    assert cluster["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    args = cluster["apiServer"]["extraArgs"]
    assert isinstance(args, list) and all(set(a) == {"name", "value"} for a in args)
    assert {"name": "service-account-max-token-expiration", "value": MAX_TOKEN_EXPIRATION} in args
    assert all(isinstance(a["value"], str) for a in args)  # "48h" quoted, as kubeadm's string type wants
    assert kind.MAX_TOKEN_EXPIRATION == MAX_TOKEN_EXPIRATION

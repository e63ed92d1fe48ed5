"""OCI image archives built from Debian's busybox-static: valid layout, matching digests."""

import hashlib
import json
import tarfile

import pytest

from labsetup.cluster import images

pytestmark = pytest.mark.skipif(not images.BUSYBOX.exists(), reason="busybox-static not installed")


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    return images.lesson_images(tmp_path_factory.mktemp("img"))


def members(path):
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


@pytest.mark.parametrize("name", [images.BUSYBOX_IMAGE, images.PAUSE_IMAGE])
def test_layout_digests_and_name(archives, name):
    files = members(archives[name])
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    for path, data in files.items():
        if path.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == path.rsplit("/", 1)[1]
    entry = json.loads(files["index.json"])["manifests"][0]
    assert entry["annotations"]["io.containerd.image.name"] == name
    manifest = json.loads(files[f"blobs/sha256/{entry['digest'].split(':')[1]}"])
    assert entry["size"] == len(files[f"blobs/sha256/{entry['digest'].split(':')[1]}"])
    config = json.loads(files[f"blobs/sha256/{manifest['config']['digest'].split(':')[1]}"])
    assert config["rootfs"]["diff_ids"] == [
        manifest["layers"][0]["digest"]
    ]  # uncompressed: digest == diff_id


def test_layer_holds_busybox_and_its_applets(archives):
    files = members(archives[images.BUSYBOX_IMAGE])
    layer_name = next(p for p in files if p.startswith("blobs/") and len(files[p]) > 1_000_000)
    import io

    with tarfile.open(fileobj=io.BytesIO(files[layer_name])) as layer:
        names = {m.name: m for m in layer.getmembers()}
    assert names["bin/busybox"].mode & 0o111
    assert names["bin/sh"].issym() and names["bin/sh"].linkname == "busybox"
    assert "bin/sleep" in names and "bin/cat" in names and names["tmp"].isdir()


def test_archives_are_reproducible(tmp_path, archives):
    again = images.lesson_images(tmp_path)
    assert again[images.BUSYBOX_IMAGE].read_bytes() == archives[images.BUSYBOX_IMAGE].read_bytes()


def test_pause_image_waits_for_term(archives):
    files = members(archives[images.PAUSE_IMAGE])
    configs = [json.loads(d) for p, d in files.items() if p.startswith("blobs/") and b'"rootfs"' in d]
    assert configs[0]["config"]["Cmd"] == images.PAUSE_COMMAND and "trap" in configs[0]["config"]["Cmd"][-1]


def test_lesson_manifests_use_the_local_image_without_pulling():
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2] / "notebooks"
    containers = []
    for path in sorted([*root.glob("manifests/*.yaml"), *root.glob("solutions/*.yaml")]):
        for doc in yaml.safe_load_all(path.read_text()):
            spec = (doc or {}).get("spec", {})
            spec = spec.get("template", {}).get("spec", spec)
            containers += [(path.name, c) for c in spec.get("containers", [])]
    assert containers
    for name, c in containers:
        assert (c["image"], c.get("imagePullPolicy")) == (images.BUSYBOX_IMAGE, "Never"), name

"""Lesson images without a registry: OCI image-layout archives built with the standard library.

The busybox image wraps Debian's busybox-static binary (one layer: /bin/busybox and a symlink per
applet); the sandbox ("pause") image is the same layer running a shell that waits for TERM.
Archives are deterministic (fixed mtimes), so their digests are stable. Pods use them with
`imagePullPolicy: Never`; the kind backend can `kind load image-archive` the same files.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from labsetup.errors import BackendUnavailable

BUSYBOX_IMAGE = "sa-lab.local/busybox:1"
PAUSE_IMAGE = "sa-lab.local/pause:1"
BUSYBOX = Path("/bin/busybox")
PAUSE_COMMAND = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class Blob:
    """A content-addressed blob: its bytes, digest and media type."""

    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        """The blob's sha256 digest, as OCI writes it."""
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self) -> dict[str, object]:
        """The OCI descriptor pointing at this blob."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}


def _add(tar: tarfile.TarFile, info: tarfile.TarInfo, data: bytes | None = None) -> None:
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
    tar.addfile(info, io.BytesIO(data) if data is not None else None)


def busybox_layer(busybox: Path = BUSYBOX) -> bytes:
    """Return an uncompressed layer tar: /bin/busybox, a symlink per applet, and /tmp."""
    if not busybox.exists():
        raise BackendUnavailable(
            f"{busybox} not found; install Debian's busybox-static (apt-get install busybox-static)"
        )
    applets = subprocess.run(
        [str(busybox), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in ("bin", "tmp", "etc"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            _add(tar, info)
        data = busybox.read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        _add(tar, info, data)
        for applet in sorted(set(applets) - {"busybox"}):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode = tarfile.SYMTYPE, "busybox", 0o777
            _add(tar, link)
    return buf.getvalue()


def image_archive(name: str, layer: bytes, command: list[str], target: Path) -> Path:
    """Write an OCI image-layout tar for one image named `name` and return its path."""
    layer_blob = Blob(layer, "application/vnd.oci.image.layer.v1.tar")
    config = Blob(
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Env": ["PATH=/bin"], "Cmd": command, "WorkingDir": "/"},
                "rootfs": {"type": "layers", "diff_ids": [layer_blob.digest]},
            },
            sort_keys=True,
        ).encode(),
        "application/vnd.oci.image.config.v1+json",
    )
    manifest = Blob(
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST,
                "config": config.descriptor(),
                "layers": [layer_blob.descriptor()],
            },
            sort_keys=True,
        ).encode(),
        MANIFEST,
    )
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                **manifest.descriptor(),
                "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name},
            }
        ],
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        files = {
            "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
            "index.json": json.dumps(index, sort_keys=True).encode(),
        }
        for blob in (layer_blob, config, manifest):
            files[f"blobs/sha256/{blob.digest.split(':')[1]}"] = blob.data
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o644
            _add(tar, info, data)
    return target


def lesson_images(directory: Path) -> dict[str, Path]:
    """Build (or reuse) the lesson image archives in directory; return image name -> archive."""
    layer = busybox_layer()
    return {
        BUSYBOX_IMAGE: image_archive(BUSYBOX_IMAGE, layer, ["sh"], directory / "busybox.oci.tar"),
        PAUSE_IMAGE: image_archive(PAUSE_IMAGE, layer, PAUSE_COMMAND, directory / "pause.oci.tar"),
    }

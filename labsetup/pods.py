"""Running pods (on a backend with the `exec` capability): wait for them, run commands inside."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from labsetup.errors import LabError, StartTimeout

if TYPE_CHECKING:
    from labsetup.lab import Lab


def wait_running(lab: Lab, namespace: str, name: str, timeout: float = 60.0) -> None:
    """Wait until the pod's containers run (phase Running and every container ready)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pod = lab.core.read_namespaced_pod(name, namespace)
        statuses = pod.status.container_statuses or []
        if pod.status.phase == "Running" and statuses and all(s.ready for s in statuses):
            return
        if pod.status.phase in ("Failed", "Succeeded"):
            raise LabError(f"pod {namespace}/{name} ended ({pod.status.phase}); see `kubectl logs`")
        time.sleep(0.02)
    raise StartTimeout(f"pod {namespace}/{name} not running after {timeout:.0f}s")


def exec_in_pod(lab: Lab, namespace: str, pod: str, command: list[str]) -> tuple[int, str]:
    """Run a command in the pod's first container; return (exit code, combined output)."""
    from kubernetes.stream import stream

    resp = stream(
        lab.core.connect_get_namespaced_pod_exec,
        pod,
        namespace,
        command=command,
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    resp.run_forever(timeout=60)
    output = resp.read_channel(1) + resp.read_channel(2)  # stdout, then stderr
    code = resp.returncode  # from the error channel, which the exec protocol closes with
    resp.close()
    return (code if code is not None else -1), output


def read_file_in_pod(lab: Lab, namespace: str, pod: str, path: str) -> str | None:
    """Return a file's content from inside the pod, or None if it does not exist there."""
    code, output = exec_in_pod(lab, namespace, pod, ["cat", path])
    return output if code == 0 else None


def list_dir_in_pod(lab: Lab, namespace: str, pod: str, path: str) -> list[str] | None:
    """Return the names in a directory inside the pod, or None if the directory does not exist."""
    code, output = exec_in_pod(lab, namespace, pod, ["ls", "-1", path])
    return sorted(output.split()) if code == 0 else None

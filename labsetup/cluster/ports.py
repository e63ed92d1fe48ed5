"""Free ports, port owners and listening sockets, read from the kernel's /proc tables."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from labsetup.errors import PortInUse

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Listener:
    """A listening TCP socket and the pid that holds it (None if not visible)."""

    address: str
    port: int
    pid: int | None


def is_free(port: int, host: str = LOOPBACK) -> bool:
    """Tell whether a TCP port can be bound on host right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Go servers do: TIME_WAIT is no obstacle
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def pick(count: int, preferred: list[int] | None = None) -> list[int]:
    """Return `count` distinct free loopback ports, keeping each preferred port that is still free."""
    preferred = preferred or []
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        for i in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            want = preferred[i] if i < len(preferred) and preferred[i] not in ports else 0
            try:
                s.bind((LOOPBACK, want))
            except OSError:
                s.bind((LOOPBACK, 0))
            held.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in held:
            s.close()
    return ports


def require_free(port: int, what: str) -> None:
    """Raise PortInUse naming the holder if `port` cannot be bound on 127.0.0.1."""
    if is_free(port):
        return
    holders = [lst for lst in listeners() if lst.port == port]
    who = ", ".join(f"pid {h.pid} ({_cmd(h.pid)})" for h in holders if h.pid) or "another process"
    raise PortInUse(
        f"unable to start {what}: port {port} on 127.0.0.1 is in use by {who}; "
        f"stop that process or choose another port (unset the variable that pins it)"
    )


def _cmd(pid: int | None) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode() or "?"
    except OSError:
        return "?"


def _decode(hex_addr: str) -> tuple[str, int]:
    addr, port = hex_addr.split(":")
    if len(addr) == 8:
        ip = socket.inet_ntop(socket.AF_INET, bytes.fromhex(addr)[::-1])
    else:
        raw = bytes.fromhex(addr)
        ip = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
    return ip, int(port, 16)


def _socket_owners() -> dict[str, int]:
    owners: dict[str, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    owners[target[8:-1]] = int(proc.name)
        except OSError:
            continue
    return owners


def listeners(pids: set[int] | None = None) -> list[Listener]:
    """Return the listening TCP sockets on this machine, optionally only those held by `pids`."""
    owners = _socket_owners()
    found: list[Listener] = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A":  # TCP_LISTEN
                continue
            address, port = _decode(fields[1])
            pid = owners.get(fields[9])
            if pids is None or pid in pids:
                found.append(Listener(address, port, pid))
    return found

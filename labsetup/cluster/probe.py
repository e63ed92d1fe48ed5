"""Tiny HTTPS client for health and readiness probes, with the lab's admin certificate.

Used while the cluster starts and by `status`: it is much quicker to import and call than the
full Kubernetes client, and it keeps one connection open across polls.
"""

from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path
from typing import Any


class Probe:
    """Requests against one HTTPS server on 127.0.0.1, on one kept connection."""

    def __init__(
        self,
        port: int,
        ca: Path | None,
        cert: Path | None = None,
        key: Path | None = None,
        timeout: float = 2.0,
    ) -> None:
        ctx = ssl.create_default_context(cafile=str(ca)) if ca else ssl._create_unverified_context()  # noqa: S323
        if cert and key:
            ctx.load_cert_chain(str(cert), str(key))
        self.port, self.ctx, self.timeout = port, ctx, timeout
        self._conn: http.client.HTTPSConnection | None = None

    def get(self, path: str) -> tuple[int, bytes]:
        """Return (status, body); status 0 means no connection could be made."""
        return self.request("GET", path)

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        """POST a JSON body; return (status, body)."""
        return self.request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def delete(self, path: str) -> tuple[int, bytes]:
        """DELETE a path; return (status, body)."""
        return self.request("DELETE", path)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send one request on the kept connection; status 0 means no connection could be made."""
        for _ in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPSConnection(
                    "127.0.0.1", self.port, timeout=self.timeout, context=self.ctx
                )
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                resp = self._conn.getresponse()
                return resp.status, resp.read()
            except (OSError, http.client.HTTPException):
                self.close()
        return 0, b""

    def get_json(self, path: str) -> dict[str, Any] | None:
        """Return the parsed JSON body of a 200 answer, else None."""
        status, body = self.get(path)
        return json.loads(body) if status == 200 else None

    def close(self) -> None:
        """Close the kept connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

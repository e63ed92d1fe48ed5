"""sa-lab: a hands-on Kubernetes service-account hardening lab on a real local cluster.

Notebooks call `labsetup.connect()` and the small helpers below; the cluster, the tokens,
the RBAC audit and the quizzes live in the submodules.
"""

from __future__ import annotations

import logging

from labsetup.errors import LabError
from labsetup.lab import Lab, connect
from labsetup.versions import ETCD_VERSION, KUBERNETES_VERSION

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["ETCD_VERSION", "KUBERNETES_VERSION", "Lab", "LabError", "connect"]

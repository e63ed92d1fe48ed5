"""Errors raised by labsetup, each with a message that says what to do.

LabError
  BinariesMissing      control-plane binaries absent and cannot be built: says what to install
  BackendUnavailable   a backend's prerequisites are missing (kind, Docker, root, ...)
  PortInUse            a port the lab needs is taken: names it and the process holding it
  ComponentExited      a lab process exited while starting: names it, its exit code and log file
  StartTimeout         the lab did not become usable in time: names what it was waiting for
  ClusterDown          no lab is running where one was expected: says how to start it
  CommandError         an external command failed: argv, exit code and captured output
  InputError           bad input from a learner or a file (quiz answer, RBAC dump, bank file)
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence


class LabError(Exception):
    """Base class of every error the lab raises on purpose."""


class BinariesMissing(LabError):
    """The control-plane binaries are missing and cannot be built here."""


class BackendUnavailable(LabError):
    """A backend cannot run on this machine; the message names what to install."""


class PortInUse(LabError):
    """A port the lab must bind is already taken."""


class ComponentExited(LabError):
    """A lab process exited before it became ready."""

    def __init__(self, name: str, code: int | None, log_file: str, tail: str = "") -> None:
        self.name, self.code, self.log_file = name, code, log_file
        msg = f"{name} exited with code {code} while starting; see its log: {log_file}"
        if tail:
            msg += "\n--- last lines of the log ---\n" + tail
        super().__init__(msg)


class StartTimeout(LabError):
    """The lab did not become usable within its time budget."""


class ClusterDown(LabError):
    """No lab cluster is running where one was expected."""


class InputError(LabError, ValueError):
    """Input that the lab cannot use: the message says which and why."""


class CommandError(LabError):
    """An external command failed."""

    def __init__(self, argv: Sequence[str], code: int, output: str) -> None:
        self.argv, self.code, self.output = list(argv), code, output
        super().__init__(f"command failed with exit code {code}: {shlex.join(argv)}\n{output}".rstrip())

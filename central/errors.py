"""The base of every error the central server raises."""

from __future__ import annotations

from gatepass.errors import GatepassError


class CentralError(GatepassError):
    """Something the central server could not do; the message says what, in plain words."""

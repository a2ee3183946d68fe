"""Exceptions raised by sync and the central server."""

from gatepass.errors import GatepassError


class SyncError(GatepassError):
    """Base of every sync or central-server failure."""

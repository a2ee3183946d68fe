"""Exceptions raised by the checkpoint application."""

from gatepass.errors import GatepassError


class EdgeError(GatepassError):
    """Base of every checkpoint failure."""

"""Exceptions of the staff console."""

from central.errors import CentralError


class ConsoleError(CentralError):
    """A console operation failed (bad user input, unknown user, ...)."""

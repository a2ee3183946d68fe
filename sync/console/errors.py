"""Exceptions of the staff console."""

from sync.errors import SyncError


class ConsoleError(SyncError):
    """A console operation failed (bad user input, unknown user, ...)."""

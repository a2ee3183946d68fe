"""Exceptions of central pass management."""

from sync.errors import SyncError


class PassAdminError(SyncError):
    """A pass, key, household or list operation cannot be done as asked."""

"""Exceptions of central pass management."""

from central.errors import CentralError


class PassAdminError(CentralError):
    """A pass, key, household or list operation cannot be done as asked."""

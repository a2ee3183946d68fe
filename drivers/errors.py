"""Exceptions raised by drivers."""

from gatepass.errors import GatepassError


class DriverError(GatepassError):
    """Base of every driver failure."""


class CodecError(DriverError):
    """A wire protocol codec met bytes it cannot use (reported, never fatal)."""


class DeviceDisconnected(DriverError):
    """The device went away; the driver will retry with backoff."""

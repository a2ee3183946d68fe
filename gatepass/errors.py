"""The root of every gatepass exception.

Each package has its own base (``drivers.errors.DriverError``,
``edge.errors.EdgeError``, ``sync.errors.SyncError``, ``central.errors.CentralError``); all derive from
:class:`GatepassError`, so the command line can turn any of them into a
one-line message with a hint instead of a traceback.
"""


class GatepassError(Exception):
    """A failure with a message fit for the person running the command.

    ``hint`` says what to do about it, in one sentence.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base


class ConfigError(GatepassError):
    """A configuration file or environment variable is missing or invalid."""

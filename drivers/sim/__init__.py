"""Device simulators speaking the real wire protocols (``gatepass sim ...``).

Each simulator is a state machine (``handle(rx) -> tx`` for received bytes, ``tick(t) -> tx``
for what the device sends on its own) driven by a :mod:`~drivers.sim.scenario`; the
:mod:`~drivers.sim.host` serves it on a pseudo-terminal or a TCP port.
"""

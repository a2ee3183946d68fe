"""gatepass: checkpoint software for residential community gates.

The distribution ships four packages: ``drivers`` (hardware and simulators),
``edge`` (the checkpoint on the Pi), ``sync`` (device <-> central sync and the
central server) and this small one, which holds the command line, logging set-up
and the configuration loader shared by every service.
"""

__version__ = "0.1.0"

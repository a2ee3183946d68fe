"""gatepass: checkpoint software for residential community gates.

The distribution ships five packages: ``drivers`` (hardware and simulators), ``edge`` (the checkpoint on the Pi),
``sync`` (what both ends of the wire share, and the device's uplink), ``central`` (the central server and its
console) and this small one, the core: configuration, errors, logging, SQLite helpers, sd_notify, the clock, the
packaged deployment files (:mod:`gatepass.resources`), and the command line and demo on top of everything.

``__version__`` is the one place the version is written; CHANGELOG.md names it (a test checks both agree).
"""

__version__ = "0.5.0"

"""Gate hardware behind small interfaces, each with a simulator speaking the real wire protocol.

Sub-packages: ``thermometer``, ``scanner``, ``gate`` (relay outputs), ``camera``.
Wire protocols are pure codecs (no I/O) shared by the driver and its simulator.
No constructor here opens hardware or starts a thread: call ``open()``/``start()``.
"""

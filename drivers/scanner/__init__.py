"""Dedicated serial QR scanner modules (GM65/GM805 family): codec in ``gm65``, driver :class:`Scanner`."""

from drivers.scanner.driver import Scanner

__all__ = ["Scanner"]

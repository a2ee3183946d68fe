"""Config sections for the hardware, shared by the edge settings and ``gatepass doctor``.

The device model is always named explicitly: different modules give the same
bytes different meanings, so nothing is auto-detected.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gatepass.config import Section


class ThermometerConfig(Section):
    """A serial infrared thermometer."""

    model: Literal["gy-mcu90614", "gy-mcu90640", "ascii-line"] = Field(
        "gy-mcu90614", description="Device model / wire protocol (never auto-detected)."
    )
    url: str = Field(
        "/dev/gatepass-thermometer",
        description="pyserial URL or path: /dev/ttyUSB0, socket://127.0.0.1:7001, spy://...",
    )
    baud: int = Field(9600, description="Serial speed in baud (bit/s).", gt=0)
    offset_c: float = Field(
        0.0, description="Forehead-to-body calibration in degrees Celsius, added and logged; 0 = none.", ge=-5, le=5
    )
    mode: Literal["continuous", "query"] = Field(
        "continuous", description="continuous: the module streams (sent on open); query: ask query_hz times a second."
    )
    query_hz: float = Field(5.0, description="Query rate in readings per second (query mode; the 90614 wants < 10).",
                            gt=0, lt=10)
    body_pixels: int = Field(4, description="GY-MCU90640: mean of this many hottest pixels in 30-45 C (pixels).",
                             ge=1, le=64)
    queue_size: int = Field(16, description="Readings kept while nobody reads (readings); older ones are dropped "
                            "and counted.", ge=1, le=10000)


class CameraConfig(Section):
    """Where frames come from."""

    source: str = Field(
        "/dev/video0",
        description="V4L2 device path or index, a GStreamer pipeline (contains '!'), a video file, "
        "an image sequence pattern (frames/%03d.png), or sim:// for the built-in simulator.",
    )
    width: int = Field(640, description="Requested frame width in pixels.", gt=0)
    height: int = Field(480, description="Requested frame height in pixels.", gt=0)
    fps: float = Field(15.0, description="Requested frame rate in frames per second.", gt=0)
    gray: bool = Field(False, description="Convert frames to grayscale in the capture thread (true/false).")


class ScannerConfig(Section):
    """A dedicated serial QR scanner module (GM65/GM805 family)."""

    enabled: bool = Field(False, description="Use the serial scanner as a pass source (true/false).")
    url: str = Field("/dev/gatepass-scanner", description="pyserial URL or path of the scanner.")
    baud: int = Field(9600, description="Serial speed in baud (bit/s).", gt=0)
    suffix: Literal["cr", "crlf", "lf", "tab"] = Field("cr", description="Suffix the module puts after each text.")


class RelayConfig(Section):
    """The gate output that opens a door, barrier or turnstile."""

    kind: Literal["gpio", "lcus", "fake"] = Field("fake", description="gpio, lcus (USB serial relay) or fake.")
    pin: int = Field(17, description="GPIO pin (BCM numbering) for kind=gpio.", ge=0)
    active_high: bool = Field(True, description="GPIO: true if the relay closes on a high level.")
    url: str = Field("/dev/gatepass-relay", description="pyserial URL or path for kind=lcus.")
    channel: int = Field(1, description="LCUS relay channel number (1-8).", ge=1, le=8)
    inverted: bool = Field(False, description="LCUS: true if 'on' opens the contact on this board.")
    pulse_s: float = Field(
        1.0, description="Opening pulse length in seconds (turnstiles need >= 0.1 s).", ge=0.1, le=30
    )
    max_on_s: float = Field(
        30.0, description="Safety: any 'on' is released after this many seconds, whatever the caller does.",
        gt=0, le=600
    )


class DeviceSettings(Section):
    """The devices of one gate, as the ``[thermometer]``, ``[camera]``, ``[scanner]`` and ``[relay]`` sections of
    ``edge.toml`` hold them: what ``gatepass doctor`` checks (:func:`drivers.doctor.run_doctor`) and what the edge
    service builds its devices from. The edge settings carry these sections at the top level of their file."""

    thermometer: ThermometerConfig = Field(default_factory=ThermometerConfig)
    camera: CameraConfig = Field(default_factory=CameraConfig)
    scanner: ScannerConfig = Field(default_factory=ScannerConfig)
    relay: RelayConfig = Field(default_factory=RelayConfig)

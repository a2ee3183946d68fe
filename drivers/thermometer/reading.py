"""What a thermometer reports: :class:`Reading`, as measured plus the explicit calibration."""

from __future__ import annotations

from dataclasses import dataclass

BODY_MIN_C = 30.0
BODY_MAX_C = 45.0


@dataclass(frozen=True)
class Reading:
    """One reading. ``object_c`` is exactly what the module measured; nothing here alters it.

    ``offset_c`` is the configured forehead-to-body calibration and ``body_c`` is
    ``object_c + offset_c`` when that lies within 30..45 C; otherwise ``body_c`` is None
    and the reading means "no subject" (a wall, the sky, an empty doorway).
    """

    object_c: float
    ambient_c: float | None
    model: str
    raw: bytes
    t_monotonic: float
    offset_c: float = 0.0
    body_c: float | None = None

    @classmethod
    def measured(cls, object_c: float, ambient_c: float | None, model: str, raw: bytes, t_monotonic: float,
                 offset_c: float = 0.0) -> Reading:
        """Build a reading and derive ``body_c`` from ``object_c`` and ``offset_c``."""
        return cls(object_c, ambient_c, model, raw, t_monotonic, offset_c, body_temperature(object_c, offset_c))

    @property
    def no_subject(self) -> bool:
        """True when the value is outside the body range: report "no subject", not a temperature."""
        return self.body_c is None


def body_temperature(object_c: float, offset_c: float = 0.0) -> float | None:
    """``object_c + offset_c`` rounded to 0.01 C if within 30..45 C, else None."""
    value = round(object_c + offset_c, 2)
    return value if BODY_MIN_C <= value <= BODY_MAX_C else None

"""Generated camera frames of a phone screen showing a pass: the conditions a gate camera really meets.

Everything is drawn with numpy/OpenCV from a seeded generator, so a set is the same on every run and
nothing has to be downloaded or shipped. A :class:`Shot` says how the phone is held and shown:
``code_px`` (width of the code with its quiet zone in the frame: ~70-95 px for a phone held at 60 cm
in a 640x480 frame, ~180-260 px at 30 cm), ``dark`` (dark mode: light modules on a dark screen, the
code inverted), ``moire`` (strength of the screen's pixel grid, which the camera samples below its
period and so turns into moiré), ``glare`` (peak brightness of a reflection on the glass), ``defocus``
(Gaussian sigma, px), ``motion``/``motion_deg`` (length and direction of motion blur, px), ``tilt``
(the phone turned away: how much shorter its far edge looks), ``roll`` (in-plane rotation, deg),
``contrast`` (dim screen), ``noise``, ``jpeg`` (quality, 0 none), ``offset`` and the frame ``size``.
``color=True`` gives a BGR frame (a phone photo) instead of gray.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from drivers.camera import render_code

SCREEN_MODULE_PX = 6  # the code on the phone screen, drawn at this many screen pixels per module
PITCH = 3  # screen pixels per display pixel cell (the grid that makes moiré)


@dataclass(frozen=True)
class Shot:
    """How a phone shows a code to the camera (see the module docstring)."""

    code_px: int = 160
    dark: bool = False
    moire: float = 0.0
    glare: float = 0.0
    defocus: float = 0.0
    motion: float = 0.0
    motion_deg: float = 0.0
    tilt: float = 0.0
    roll: float = 0.0
    contrast: float = 1.0
    noise: float = 3.0
    jpeg: int = 0
    offset: tuple[int, int] = (0, 0)
    size: tuple[int, int] = (640, 480)
    color: bool = False


def scene(rng: np.random.Generator, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A float gray scene without a code: a wall, a door frame, a person, a lighting gradient."""
    w, h = size
    s = w / 640
    frame = np.full((h, w), 118, np.float32)
    frame += np.linspace(-12, 12, w, dtype=np.float32)[None, :]
    cv2.rectangle(frame, (int(60 * s), int(20 * s)), (int(580 * s), int(470 * s)), 70, int(12 * s))
    cx = int(w / 2 + rng.integers(-40, 40) * s)
    cv2.circle(frame, (cx, int(140 * s)), int(55 * s), 150, -1)
    cv2.ellipse(frame, (cx, int(400 * s)), (int(140 * s), int(170 * s)), 0, 180, 360, 95, -1)
    return frame


def _screen(text: str, shot: Shot) -> np.ndarray:
    """The phone (bezel, screen with the code and some app text) as a float image at screen resolution."""
    code = render_code(text, SCREEN_MODULE_PX).astype(np.float32)
    code = np.clip((code - 128) * shot.contrast / 0.86 + 128, 0, 255)  # render_code spans 18..238: to 0..255
    if shot.dark:
        code = 255 - code
    side = code.shape[0]
    bg = float(code[0, 0])
    fg = 255 - bg
    margin, top = side // 8, side // 2
    screen = np.full((side + top + side // 2, side + 2 * margin), bg, np.float32)
    for i in range(3):  # lines of app text above the code
        y = top // 4 + i * top // 5
        cv2.rectangle(screen, (margin, y), (margin + side * (3 - i) // 4, y + top // 12), bg + (fg - bg) * 0.7, -1)
    screen[top:top + side, margin:margin + side] = code
    if shot.moire:
        grid = np.ones(PITCH, np.float32)
        grid[-1] = 1 - shot.moire  # the dark gap between display pixels
        screen *= grid[np.arange(screen.shape[0]) % PITCH][:, None] * grid[np.arange(screen.shape[1]) % PITCH][None, :]
    bezel = side // 10
    phone = np.full((screen.shape[0] + 2 * bezel, screen.shape[1] + 2 * bezel), 20, np.float32)
    phone[bezel:-bezel, bezel:-bezel] = screen
    return phone


def _corners(shot: Shot, code_side: int, phone_shape: tuple[int, int], scale: float) -> np.ndarray:
    """Where the phone's corners land in the frame: scaled, turned away (tilt), rolled, placed."""
    ph, pw = phone_shape
    w, h = shot.size
    pts = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]]) * scale
    d = shot.tilt * ph * scale / 2  # the right edge further away: shorter
    pts[1, 1] += d
    pts[2, 1] -= d
    pts[1, 0] -= d * 0.5
    pts[2, 0] -= d * 0.5
    bezel = code_side // 10
    code_centre = np.float32([pw / 2, bezel + code_side // 2 + code_side // 2]) * scale  # code middle on phone
    theta = np.deg2rad(shot.roll)
    rot = np.float32([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    pts = (pts - code_centre) @ rot.T
    return pts + np.float32([w / 2 + shot.offset[0], h / 2 + shot.offset[1]])


def _motion_kernel(length: float, deg: float) -> np.ndarray:
    n = max(1, int(round(length)))
    k = np.zeros((n, n), np.float32)
    c = (n - 1) / 2
    dx, dy = np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))
    for t in np.linspace(-c, c, n * 3):
        k[int(round(c + t * dy)), int(round(c + t * dx))] = 1
    return k / k.sum()


def render(text: str, shot: Shot, rng: np.random.Generator) -> np.ndarray:
    """A camera frame (uint8, gray or BGR) of a phone showing a QR code of ``text`` as ``shot`` says."""
    w, h = shot.size
    frame = scene(rng, shot.size)
    phone = _screen(text, shot)
    code_side = render_code(text, SCREEN_MODULE_PX).shape[0]
    scale = shot.code_px / code_side
    src = np.float32([[0, 0], [phone.shape[1], 0], [phone.shape[1], phone.shape[0]], [0, phone.shape[0]]])
    m = cv2.getPerspectiveTransform(src, _corners(shot, code_side, phone.shape, scale))
    warped = cv2.warpPerspective(phone, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=-1000)
    frame = np.where(warped > -500, warped, frame)
    if shot.glare:
        p = m @ np.float64([phone.shape[1] * rng.uniform(0.3, 0.7), phone.shape[0] * rng.uniform(0.35, 0.65), 1])
        cx, cy = p[0] / p[2], p[1] / p[2]
        spread = shot.code_px * rng.uniform(0.08, 0.15)
        yy, xx = np.mgrid[0:h, 0:w]
        frame += shot.glare * np.exp(-((xx - cx) ** 2 / (2 * (spread * 1.8) ** 2) + (yy - cy) ** 2 / (2 * spread ** 2)))
    if shot.defocus:
        frame = cv2.GaussianBlur(frame, (0, 0), shot.defocus)
    if shot.motion > 1:
        frame = cv2.filter2D(frame, -1, _motion_kernel(shot.motion, shot.motion_deg))
    frame = frame + rng.normal(0, shot.noise, frame.shape).astype(np.float32)
    out = np.clip(frame, 0, 255).astype(np.uint8)
    if shot.color:
        tint = np.float32([1.0 + rng.uniform(-0.1, 0.1), 1.0, 1.0 + rng.uniform(-0.1, 0.1)])
        out = np.clip(out[:, :, None].astype(np.float32) * tint, 0, 255).astype(np.uint8)
    if shot.jpeg:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, shot.jpeg])
        out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return out


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def phone_shots(rng: np.random.Generator) -> dict[str, Shot]:
    """One shot of each phone-screen condition, drawn from ``rng``."""
    base = Shot(code_px=int(rng.integers(130, 200)), roll=_u(rng, -20, 20), tilt=_u(rng, 0, 0.15),
                offset=(int(rng.integers(-50, 50)), int(rng.integers(-40, 40))), jpeg=int(rng.integers(40, 90)))
    mixed = replace(base, dark=bool(rng.integers(0, 2)), moire=_u(rng, 0, 0.4), glare=_u(rng, 0, 120),
                    defocus=_u(rng, 0, 1.6), motion=_u(rng, 0, 8), motion_deg=_u(rng, 0, 180),
                    tilt=_u(rng, 0, 0.3), contrast=_u(rng, 0.4, 1), color=True)
    return {
        "phone: dark mode (inverted)": replace(base, dark=True, defocus=_u(rng, 0, 1.0)),
        "phone: screen moiré": replace(base, moire=_u(rng, 0.2, 0.5)),
        "phone: screen glare": replace(base, glare=_u(rng, 120, 220)),
        "phone at 60 cm (small code)": replace(base, code_px=int(rng.integers(70, 95)), roll=_u(rng, -10, 10),
                                               tilt=0.0, jpeg=0),
        "phone at 30 cm": replace(base, code_px=int(rng.integers(200, 270)), offset=(0, 0)),
        "phone: out of focus": replace(base, defocus=_u(rng, 1.2, 2.0)),
        "phone: fast motion": replace(base, motion=_u(rng, 1.0, 2.0) * base.code_px / 53, motion_deg=_u(rng, 0, 180)),
        "phone: tilted": replace(base, tilt=_u(rng, 0.25, 0.45), roll=_u(rng, -35, 35)),
        "phone: dim screen": replace(base, contrast=_u(rng, 0.15, 0.3)),
        "phone: high-res frame (1280x960)": replace(base, size=(1280, 960), code_px=int(rng.integers(280, 420)),
                                                    defocus=_u(rng, 0, 3.0), motion=_u(rng, 0, 10),
                                                    motion_deg=_u(rng, 0, 180), offset=(0, 0)),
        "phone photo (colour, mixed)": mixed,
        **_far_shots(rng, base),
        **_combined_shots(rng, base),
    }


def at_distance(cm: float, frame_width: int) -> int:
    """Width in pixels of a phone's code (with its quiet zone) held ``cm`` from a camera ``frame_width`` wide.

    A 640-wide gate camera sees the code ~82 px wide at 60 cm and ~165 px at 30 cm; wider sensors with the
    same lens see it proportionally larger, in a proportionally larger frame.
    """
    return int(round(4900 / cm * frame_width / 640))


def _far_shots(rng: np.random.Generator, base: Shot) -> dict[str, Shot]:
    """A phone held 30-60 cm away in front of a 1280x720 and a 1920x1080 camera: a small code in a large frame."""
    shots = {}
    for w, h in ((1280, 720), (1920, 1080)):
        cm = _u(rng, 30, 60)
        shots[f"phone at 30-60 cm, {w}x{h}"] = replace(
            base, size=(w, h), code_px=at_distance(cm, w), defocus=_u(rng, 0, 0.8) * w / 640,
            offset=(int(rng.integers(-w // 8, w // 8)), int(rng.integers(-h // 10, h // 10))))
    return shots


def _combined_shots(rng: np.random.Generator, base: Shot) -> dict[str, Shot]:
    """Conditions that come together on a real gate: dark mode in a hurry, a soft moiré screen, and so on."""
    fast = _u(rng, 0.8, 1.6) * base.code_px / 53
    return {
        "phone: dark mode + fast motion": replace(base, dark=True, motion=fast, motion_deg=_u(rng, 0, 180)),
        "phone: dark mode + glare": replace(base, dark=True, glare=_u(rng, 100, 180)),
        "phone: moiré + out of focus": replace(base, moire=_u(rng, 0.2, 0.5), defocus=_u(rng, 1.0, 1.8)),
        "phone: glare + fast motion": replace(base, glare=_u(rng, 100, 180), motion=fast,
                                              motion_deg=_u(rng, 0, 180)),
        "phone at 60 cm, out of focus": replace(base, code_px=int(rng.integers(85, 100)), defocus=_u(rng, 0.6, 1.2),
                                                roll=_u(rng, -10, 10), tilt=0.0, jpeg=0),
        "phone at 60 cm, 1920x1080, out of focus, dark": replace(
            base, size=(1920, 1080), code_px=at_distance(_u(rng, 45, 60), 1920), dark=True,
            defocus=_u(rng, 2.0, 4.0), offset=(int(rng.integers(-200, 200)), int(rng.integers(-100, 100)))),
    }


def presentation(rng: np.random.Generator, fps: float = 15.0, seconds: float = 1.0) -> list[Shot]:
    """The shots of one simulated presentation: the phone swung in fast, then held, a little shaky.

    Motion blur starts strong and eases as the hand settles; focus, glare and position vary from frame
    to frame; some presentations are in dark mode, some on a screen with a strong pixel grid, some far.
    """
    n = max(1, int(round(fps * seconds)))
    far = rng.random() < 0.3
    base = Shot(code_px=int(rng.integers(75, 100) if far else rng.integers(120, 220)), dark=bool(rng.random() < 0.4),
                moire=_u(rng, 0, 0.5), roll=_u(rng, -25, 25), tilt=_u(rng, 0, 0.35), contrast=_u(rng, 0.3, 1),
                jpeg=int(rng.integers(40, 90)))
    settle = _u(rng, 0.3, 0.9) * n  # frames until the hand is still
    shots = []
    for i in range(n):
        swing = max(0.0, 1 - i / settle)
        shots.append(replace(base, motion=swing * _u(rng, 10, 30) + _u(rng, 0, 4), motion_deg=_u(rng, 0, 180),
                             defocus=_u(rng, 0.3, 2.8) if rng.random() < 0.5 else _u(rng, 0, 1.0),
                             glare=_u(rng, 100, 220) if rng.random() < 0.3 else 0.0,
                             offset=(int(swing * rng.integers(-150, 150)), int(swing * rng.integers(-100, 100)))))
    return shots

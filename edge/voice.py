"""Spoken prompts for each outcome ("体温正常，请通行" ...), played through ALSA.

Prompts are WAV files: shipped under ``edge/audio/<lang>/<key>.wav`` (made at build time with
:func:`build_prompts`, 16 kHz mono) and, for any that are missing, generated at first use with
``espeak-ng`` into a cache directory. :class:`VoicePlayer` plays them with ``aplay`` (the WAV goes to the
player's stdin, after the volume is applied) in one background thread fed by a small bounded queue: a newer
prompt cuts the one playing short, prompts older than ``max_age_s`` are dropped as stale, and every drop is
counted. Nothing here blocks the caller.
"""

from __future__ import annotations

import io
import logging
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.events import CheckpointAPI, Outcome
from edge.screen_settings import VoiceSection

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).parent / "audio"
LANGUAGES = ("zh-CN", "en")
ESPEAK_VOICES = {"zh-CN": "cmn", "en": "en-us"}
ESPEAK_SPEED = {"zh-CN": "210", "en": "165"}  # words (syllables) per minute

PROMPTS: dict[str, dict[str, str]] = {
    "pass": {"zh-CN": "请通行", "en": "Please go ahead."},
    "pass_temp_ok": {"zh-CN": "体温正常，请通行", "en": "Temperature normal. Please go ahead."},
    "override": {"zh-CN": "保安已放行，请通行", "en": "Let through by the guard. Please go ahead."},
    "visitor": {"zh-CN": "访客已登记，请通行", "en": "Visitor registered. Please go ahead."},
    "remeasure": {"zh-CN": "体温异常，请复测", "en": "High temperature. Please measure again."},
    "fever": {"zh-CN": "体温异常，禁止通行", "en": "High temperature. Entry refused."},
    "measure": {"zh-CN": "请测量体温", "en": "Please measure your temperature."},
    "refuse": {"zh-CN": "禁止通行", "en": "Entry refused."},
    "rescan": {"zh-CN": "请重新出示通行证", "en": "Please show your pass again."},
    "expired": {"zh-CN": "通行证已过期，禁止通行", "en": "Pass expired. Entry refused."},
    "quarantined": {"zh-CN": "居家隔离期间，禁止外出", "en": "Home quarantine. You may not go out."},
    "wrong_gate": {"zh-CN": "此通行证不能在本门使用", "en": "This pass is not valid at this gate."},
    "guard": {"zh-CN": "请稍候，由保安处理", "en": "Please wait for the guard."},
    "closed": {"zh-CN": "非开放时间，禁止通行", "en": "The gate is closed at this hour."},
}

#: Why prompts cannot be played (``VoicePlayer.problem``), for the guard page's fault texts.
PROBLEMS = ("player_missing", "player_failed", "prompt_missing")

_CODE_PROMPTS = {"corrupt": "rescan", "not_our_format": "rescan", "expired": "expired",
                 "quarantined": "quarantined", "wrong_gate": "wrong_gate", "temp_missing": "measure",
                 "closed": "closed"}


def prompt_key(outcome: Outcome) -> str:
    """The prompt to speak for ``outcome`` (a key of :data:`PROMPTS`)."""
    if outcome.decision == "pass":
        if outcome.event in ("override", "visitor"):
            return outcome.event
        return "pass_temp_ok" if outcome.temperature_c is not None else "pass"
    if outcome.fever or (outcome.remeasure and outcome.temperature_c is not None):
        return "remeasure" if outcome.remeasure else "fever"
    if outcome.remeasure:
        return "measure"
    if outcome.decision == "guard":
        return "guard"
    return _CODE_PROMPTS.get(outcome.code, "refuse")


def scale_wav(data: bytes, volume: int) -> bytes:
    """``data`` (a WAV file) with its samples scaled to ``volume`` percent; 8- and 16-bit PCM only.

    Raises :class:`wave.Error` (or EOFError) if ``data`` is not a WAV file.
    """
    with wave.open(io.BytesIO(data), "rb") as src:
        params = src.getparams()
        frames = src.readframes(params.nframes)
    factor = max(0, min(100, volume)) / 100
    if params.sampwidth == 2:
        samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) * factor
        frames = np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()
    elif params.sampwidth == 1:
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128) * factor + 128
        frames = np.clip(np.rint(samples), 0, 255).astype(np.uint8).tobytes()
    out = io.BytesIO()
    with wave.open(out, "wb") as dst:
        dst.setparams(params)
        dst.writeframes(frames)
    return out.getvalue()


def synthesize(text: str, lang: str, out: Path, espeak: str = "espeak-ng", sox: str | None = "sox") -> None:
    """Speak ``text`` into the WAV file ``out`` with espeak-ng (16 kHz mono 8-bit when sox is available)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run([espeak, "-v", ESPEAK_VOICES[lang], "-s", ESPEAK_SPEED[lang], "-w", str(raw), text],
                       check=True, capture_output=True, timeout=60)
        staged = Path(tmp) / "out.wav"
        if sox and shutil.which(sox):
            # 16 kHz mono 8-bit PCM (16 kB/s; espeak's voice loses nothing audible), silence trimmed at both
            # ends, peaks normalised to -1 dBFS.
            subprocess.run([sox, str(raw), "-r", "16000", "-c", "1", "-b", "8", "-e", "unsigned-integer", str(staged),
                            "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse",
                            "norm", "-1"], check=True, capture_output=True, timeout=60)
        else:
            shutil.copyfile(raw, staged)
        staged.replace(out)


def build_prompts(out_dir: Path, languages: tuple[str, ...] = LANGUAGES) -> list[Path]:
    """Generate every prompt of :data:`PROMPTS` into ``out_dir/<lang>/<key>.wav`` (the build step)."""
    made = []
    for lang in languages:
        for key, texts in PROMPTS.items():
            path = out_dir / lang / f"{key}.wav"
            synthesize(texts[lang], lang, path)
            made.append(path)
    return made


class PromptLibrary:
    """Finds the WAV file of a prompt: shipped first, then the cache, generating into it when possible."""

    def __init__(self, cache_dir: Path | None, shipped_dir: Path = SHIPPED_DIR, espeak: str = "espeak-ng") -> None:
        self.cache_dir = cache_dir
        self.shipped_dir = shipped_dir
        self.espeak = espeak
        self._warned: set[tuple[str, str]] = set()

    def path(self, key: str, lang: str) -> Path | None:
        """The WAV file for ``key`` in ``lang``, or None if there is none and none can be made."""
        if key not in PROMPTS or lang not in LANGUAGES:
            return None
        shipped = self.shipped_dir / lang / f"{key}.wav"
        if shipped.is_file():
            return shipped
        if self.cache_dir is None:
            return self._missing(key, lang, "no cache directory")
        cached = self.cache_dir / lang / f"{key}.wav"
        if cached.is_file():
            return cached
        if not shutil.which(self.espeak):
            return self._missing(key, lang, f"{self.espeak} is not installed")
        try:
            synthesize(PROMPTS[key][lang], lang, cached, espeak=self.espeak)
        except (OSError, subprocess.SubprocessError) as exc:
            return self._missing(key, lang, f"espeak-ng failed: {exc}")
        return cached

    def _missing(self, key: str, lang: str, why: str) -> Path | None:
        """Warn (once per prompt) that there is no prompt ``key`` in ``lang``; None, for :meth:`path`."""
        if (key, lang) not in self._warned:
            self._warned.add((key, lang))
            log.warning("no voice prompt %s (%s): %s", key, lang, why)
        return None


@dataclass
class _Item:
    key: str
    lang: str
    queued: float
    gen: int = 0  # order of say() calls: a prompt only ever cuts short an older one


class NowPlaying:
    """The player process of the prompt playing now, and how new the newest prompt asked for is.

    A prompt only ever cuts short an older one: each :meth:`next_gen` numbers a prompt, :meth:`kill` with
    ``older_than`` leaves a player alone that already took that prompt or a newer one.
    """

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.playing_gen = 0
        self._newest = 0
        self._lock = threading.Lock()

    def next_gen(self) -> int:
        """Number a new prompt (the newest from now on)."""
        with self._lock:
            self._newest += 1
            return self._newest

    def begin(self, proc: subprocess.Popen[bytes], gen: int) -> bool:
        """``proc`` plays prompt ``gen`` now; True if a newer prompt came while it was starting."""
        with self._lock:
            self.proc, self.playing_gen = proc, gen
            return gen < self._newest

    def end(self) -> None:
        """Nothing plays any more."""
        with self._lock:
            self.proc = None

    def kill(self, older_than: int | None = None) -> bool:
        """Kill the playing prompt (only if it is older than prompt ``older_than``); True if one was killed."""
        with self._lock:
            proc = self.proc
            if older_than is not None and self.playing_gen >= older_than:
                return False  # the player already took the newer prompt: never cut the newest one
        if proc is not None and proc.poll() is None:
            proc.kill()
            return True
        return False


class VoiceProblem:
    """Why prompts cannot be played now (None: they play), and who is told when that changes."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.listener: Callable[[str | None], None] | None = None

    def set(self, problem: str | None) -> None:
        """Note the problem now; tell the listener when it changed (a failing listener is logged, never raised)."""
        changed, self.current = problem != self.current, problem
        if changed and self.listener is not None:
            try:
                self.listener(problem)
            except Exception:  # noqa: BLE001 - reporting a fault must never stop the voice
                log.exception("reporting the voice problem failed")


class VoicePlayer:
    """Plays prompts one at a time in a background thread; :meth:`say` never blocks.

    Counters: ``played``, ``dropped_full`` (pushed out of the full queue), ``dropped_stale`` (too old to
    start), ``interrupted`` (cut short by a newer prompt), ``failed`` (player missing or exiting non-zero).
    ``problem``: why the last prompt could not be played (a key of :data:`PROBLEMS`; None once one plays again, or
    while nothing failed): the guard page shows it as a fault instead of "sound on".
    """

    def __init__(self, section: VoiceSection, library: PromptLibrary,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.section = section
        self.library = library
        self.language = section.language
        self.muted = section.muted
        self._clock = clock
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=section.queue_size)
        self.now = NowPlaying()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.played = self.dropped_full = self.dropped_stale = self.interrupted = self.failed = 0
        self._problem = VoiceProblem()

    def argv(self) -> list[str]:
        """The player command line."""
        argv = list(self.section.player)
        if self.section.alsa_device:
            argv += ["-D", self.section.alsa_device]
        return argv

    def start(self) -> None:
        """Start the playing thread (a player program that is not installed is a problem at once)."""
        if self.section.enabled and shutil.which(self.argv()[0]) is None:
            self._fail("player_missing", f"voice player {self.argv()[0]!r} is not installed", count=False)
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="voice", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop playing and end the thread."""
        self._stop.set()
        self.now.kill()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def set_muted(self, muted: bool) -> None:
        """Mute (dropping what is queued and cutting the current prompt) or unmute."""
        self.muted = muted
        if muted:
            self._drain()
            self.now.kill()

    def say(self, key: str) -> bool:
        """Queue prompt ``key``; False when disabled, muted or unknown. Cuts the playing prompt short."""
        if not self.section.enabled or self.muted or key not in PROMPTS:
            return False
        item = _Item(key, self.language, self._clock(), self.now.next_gen())
        while True:
            try:
                self._queue.put_nowait(item)
                break
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped_full += 1
                except queue.Empty:
                    pass
        if self.now.kill(older_than=item.gen):
            self.interrupted += 1
        return True

    def stats(self) -> dict[str, int | bool | str | None]:
        """Counters and state, for the status page: ``state`` is ``off`` (disabled), ``failing`` (``problem``
        says why) or ``ok``."""
        state = "off" if not self.section.enabled else ("failing" if self.problem else "ok")
        return {"enabled": self.section.enabled, "muted": self.muted, "played": self.played,
                "dropped_full": self.dropped_full, "dropped_stale": self.dropped_stale,
                "interrupted": self.interrupted, "failed": self.failed, "state": state, "problem": self.problem}

    def _fail(self, problem: str, why: str, count: bool = True) -> None:
        """A prompt could not be played (``problem``: a key of :data:`PROBLEMS`); warned once per new problem."""
        if count:
            self.failed += 1
        if problem != self.problem:
            log.warning("voice prompts fail (%s): %s", problem, why)
        self._set_problem(problem)

    @property
    def problem(self) -> str | None:
        """Why the last prompt could not be played (a key of :data:`PROBLEMS`); None while prompts play."""
        return self._problem.current

    @property
    def on_problem(self) -> Callable[[str | None], None] | None:
        """Told every change of :attr:`problem` (the announcer reports it as the checkpoint's ``voice`` fault)."""
        return self._problem.listener

    @on_problem.setter
    def on_problem(self, listener: Callable[[str | None], None] | None) -> None:
        self._problem.listener = listener

    def _set_problem(self, problem: str | None) -> None:
        self._problem.set(problem)

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if self._clock() - item.queued > self.section.max_age_s or self.muted:
                self.dropped_stale += 1
                continue
            self._play(item)

    def _play(self, item: _Item) -> None:
        path = self.library.path(item.key, item.lang)
        if path is None:
            self._fail("prompt_missing", f"no prompt {item.key} ({item.lang})")
            return
        try:
            data = scale_wav(path.read_bytes(), self.section.volume)
        except (OSError, wave.Error, EOFError) as exc:
            self._fail("prompt_missing", f"cannot read voice prompt {path}: {exc}")
            return
        try:
            proc = subprocess.Popen(self.argv(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        except OSError as exc:
            self._fail("player_missing", f"cannot start {self.argv()[0]}: {exc}")
            return
        superseded = self.now.begin(proc, item.gen)  # a newer prompt came while this one was starting
        if superseded and proc.poll() is None:
            proc.kill()
            self.interrupted += 1
        try:
            _, err = proc.communicate(data, timeout=30)
        except (subprocess.TimeoutExpired, OSError):
            proc.kill()
            _, err = proc.communicate()
        finally:
            self.now.end()
        if proc.returncode == 0:
            self.played += 1
            self._set_problem(None)
        elif proc.returncode < 0:
            log.debug("voice prompt %s cut short", item.key)
        else:
            self._fail("player_failed", f"{self.argv()[0]} exited with {proc.returncode}: "
                       f"{(err or b'').decode(errors='replace').strip()[:200]}")


class VoiceAnnouncer:
    """Speaks the prompt of every outcome the checkpoint publishes (one thread, stopped by :meth:`stop`)."""

    def __init__(self, checkpoint: CheckpointAPI, player: VoicePlayer) -> None:
        self.checkpoint = checkpoint
        self.player = player
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Subscribe to the checkpoint and start the player and the announcing thread."""
        self.player.on_problem = lambda problem: self.checkpoint.report_fault("voice", problem is not None,
                                                                             problem or "")
        self.player.start()
        sub = self.checkpoint.subscribe()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(sub,), name="voice-announcer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop announcing and playing."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.player.stop()

    def _run(self, sub: queue.Queue[Outcome]) -> None:
        try:
            while not self._stop.is_set():
                try:
                    outcome = sub.get(timeout=0.2)
                except queue.Empty:
                    continue
                self.player.say(prompt_key(outcome))
        finally:
            self.checkpoint.unsubscribe(sub)


def make_voice(checkpoint: CheckpointAPI, section: VoiceSection, data_dir: Path) -> VoiceAnnouncer:
    """The announcer for ``checkpoint`` built from the ``[voice]`` settings (not started)."""
    library = PromptLibrary(section.cache_dir or data_dir / "voice")
    return VoiceAnnouncer(checkpoint, VoicePlayer(section, library))


if __name__ == "__main__":  # build step: python -m edge.voice [OUT_DIR]
    import sys

    logging.basicConfig(level=logging.INFO)
    for made in build_prompts(Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED_DIR):
        log.info("wrote %s (%d bytes)", made, made.stat().st_size)

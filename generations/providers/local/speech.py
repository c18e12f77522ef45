"""Offline speech with eSpeak NG: the library shipped in the espeakng-loader wheel, through
ctypes; the `espeak-ng` program on PATH when the wheel is missing."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import threading
import wave
from pathlib import Path
from typing import Any

import numpy as np

from .media import (
    MediaError,
    Progress,
    ProgressReporter,
    RenderedFile,
    audio_result,
    output_name,
    prepare_out_dir,
    write_wav,
)

MAX_CHARS = 5000

# voice id -> (espeak voice name with variant, language code, gender, display name)
VOICES: dict[str, tuple[str, str, str, str]] = {
    "en-us-f": ("en-us+f3", "en-US", "female", "Ava"),
    "en-us-m": ("en-us+m3", "en-US", "male", "Noah"),
    "en-gb-f": ("en+f2", "en-GB", "female", "Isla"),
    "en-gb-m": ("en+m1", "en-GB", "male", "Oliver"),
    "es-es-f": ("es+f3", "es-ES", "female", "Lucia"),
    "fr-fr-m": ("fr+m3", "fr-FR", "male", "Louis"),
    "de-de-f": ("de+f2", "de-DE", "female", "Mia"),
    "it-it-m": ("it+m1", "it-IT", "male", "Marco"),
}
RATE_WPM = 165


class SpeechUnavailable(RuntimeError):
    """Neither the eSpeak NG library (espeakng-loader wheel) nor the espeak-ng program exists."""


def voices() -> list[dict[str, str]]:
    return [
        {"voice_id": vid, "name": name, "language_code": lang, "gender": gender, "espeak": esp}
        for vid, (esp, lang, gender, name) in VOICES.items()
    ]


def resolve_voice(voice: str, language: str = "en-US") -> str:
    """The espeak voice for a voice id; with no voice id, a female voice of the language."""
    if voice:
        if voice not in VOICES:
            known = ", ".join(VOICES)
            raise MediaError(f"unknown voice {voice!r}; the offline engine speaks {known}")
        return VOICES[voice][0]
    lang = (language or "en-US").lower()
    for esp, code, _gender, _name in VOICES.values():
        if code.lower() == lang:
            return esp
    for esp, code, _gender, _name in VOICES.values():
        if code.lower().split("-")[0] == lang.split("-")[0]:
            return esp
    raise MediaError(f"no offline voice for language {language!r}")


# --- the library, through ctypes ----------------------------------------------------------------

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_ESPEAK_RATE = 1
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Engine:
    """One process-wide espeak instance (espeak keeps global state): all calls hold the lock."""

    lock = threading.Lock()

    def __init__(self) -> None:
        self.lib: Any = None
        self.sample_rate = 0
        self.chunks: list[np.ndarray] = []
        self._callback = _SYNTH_CALLBACK(self._collect)  # kept alive as long as the engine

    def _collect(self, wav: Any, numsamples: int, events: Any) -> int:
        if numsamples > 0 and wav:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
        return 0  # 0 = continue synthesis

    def load(self) -> bool:
        if self.lib is not None:
            return True
        try:
            import espeakng_loader  # type: ignore[import-untyped]
        except ImportError:
            return False
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        data = espeakng_loader.get_data_path().encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
        if rate <= 0:
            raise SpeechUnavailable(f"espeak_Initialize failed with the wheel's data ({rate})")
        lib.espeak_SetSynthCallback(self._callback)
        self.lib, self.sample_rate = lib, rate
        return True

    def synthesize(self, text: str, espeak_voice: str) -> tuple[np.ndarray, int]:
        if self.lib.espeak_SetVoiceByName(espeak_voice.encode()) != 0:
            raise MediaError(f"eSpeak NG has no voice {espeak_voice!r}")
        self.lib.espeak_SetParameter(_ESPEAK_RATE, RATE_WPM, 0)
        self.chunks = []
        data = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(data)
        err = self.lib.espeak_Synth(buf, len(data), 0, 0, 0, _CHARS_UTF8, None, None)
        if err != 0:
            raise MediaError(f"eSpeak NG could not synthesize the text (error {err})")
        samples = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)
        self.chunks = []
        return samples, self.sample_rate


_engine = _Engine()
_owner_pid = os.getpid()


def _library_engine() -> _Engine | None:
    global _engine, _owner_pid
    if os.getpid() != _owner_pid:  # a forked child must not reuse the parent's espeak state
        _engine, _owner_pid = _Engine(), os.getpid()
        _Engine.lock = threading.Lock()
    try:
        return _engine if _engine.load() else None
    except OSError:
        return None


def _program(text: str, espeak_voice: str, workdir: Path) -> tuple[np.ndarray, int]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechUnavailable(
            "offline speech needs eSpeak NG: install the espeakng-loader wheel "
            "(pip install -e .) or the espeak-ng package"
        )
    tmp = workdir / f".speech-{os.getpid()}-{threading.get_ident()}.wav"
    try:
        subprocess.run(  # noqa: S603 - fixed program, text passed on stdin
            [exe, "-v", espeak_voice, "-s", str(RATE_WPM), "-w", str(tmp), "--stdin"],
            input=text.encode("utf-8"),
            check=True,
            capture_output=True,
            timeout=120,
        )
        with wave.open(str(tmp), "rb") as wav:
            raw = wav.readframes(wav.getnframes())
            return np.frombuffer(raw, dtype="<i2").copy(), wav.getframerate()
    except subprocess.CalledProcessError as exc:
        raise MediaError(f"espeak-ng failed: {exc.stderr.decode(errors='replace')}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def synthesize(text: str, espeak_voice: str, workdir: Path) -> tuple[np.ndarray, int]:
    """int16 samples and their rate; the library when present, else the program."""
    with _Engine.lock:
        engine = _library_engine()
        if engine is not None:
            return engine.synthesize(text, espeak_voice)
    return _program(text, espeak_voice, workdir)


def render_speech(
    text: str,
    *,
    voice: str = "en-us-f",
    language: str = "en-US",
    out_dir: Path,
    progress: Progress | None = None,
) -> RenderedFile:
    """Speech of `text` as mono 16-bit WAV (eSpeak NG's 22.05 kHz), with a short lead-in."""
    text = " ".join((text or "").split())
    if not text:
        raise MediaError("there is no text to speak")
    if len(text) > MAX_CHARS:
        raise MediaError(f"text is longer than {MAX_CHARS} characters")
    espeak_voice = resolve_voice(voice, language)
    out_dir = prepare_out_dir(out_dir)
    reporter = ProgressReporter(progress)
    reporter.report(0)
    samples, rate = synthesize(text, espeak_voice, out_dir)
    if samples.size == 0:
        raise MediaError("eSpeak NG produced no audio for this text")
    reporter.report(80)
    pad = np.zeros(int(rate * 0.15))
    audio = np.concatenate([pad, samples.astype(np.float64) / 32768.0, pad])
    target = out_dir / output_name("speech", "wav", text, voice, language)
    write_wav(target, audio, rate)
    reporter.finish()
    return audio_result(target, audio.size, rate)

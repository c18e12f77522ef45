"""Synthesized music and sound effects (numpy, vectorised), written as 44.1 kHz 16-bit WAV."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .image import effective_seed
from .media import (
    MediaError,
    Progress,
    ProgressReporter,
    RenderedFile,
    audio_result,
    output_name,
    prepare_out_dir,
    rng_for,
    stable_int,
    write_wav,
)
from .prompt import has, words

SR = 44_100
MAX_SECONDS = 300.0
TAU = 2 * np.pi

SLOW_WORDS = ("slow", "chill", "ballad", "ambient", "calm", "relaxing", "sleep", "lullaby", "soft")
FAST_WORDS = ("upbeat", "dance", "energetic", "fast", "edm", "house", "techno", "party", "workout")
MINOR_WORDS = ("sad", "dark", "melancholic", "melancholy", "minor", "moody", "mysterious", "tense")
MAJOR_WORDS = ("happy", "bright", "upbeat", "joyful", "major", "sunny", "cheerful", "uplifting")
INSTRUMENTS = ("piano", "bass", "drums", "strings", "synth", "guitar")
_BPM = re.compile(r"(\d{2,3})\s*bpm", re.I)


def _check_duration(duration: float) -> float:
    if not 0.5 <= float(duration) <= MAX_SECONDS:
        raise MediaError(f"duration must be between 0.5 and {MAX_SECONDS:g} seconds")
    return float(duration)


# --- music -------------------------------------------------------------------------------------


def tempo_for(text: str, rng: np.random.Generator) -> int:
    match = _BPM.search(text)
    if match:
        return int(min(max(int(match.group(1)), 40), 220))
    ws = words(text)
    if has(ws, *FAST_WORDS, "rock", "punk", "drum"):
        return int(rng.integers(120, 133))
    if has(ws, "lofi", "hiphop", "hip", "jazz"):
        return int(rng.integers(82, 92))
    if has(ws, *SLOW_WORDS):
        return int(rng.integers(64, 78))
    return int(rng.integers(92, 112))


def minor_for(text: str, rng: np.random.Generator) -> bool:
    ws = words(text)
    if has(ws, *MINOR_WORDS):
        return True
    if has(ws, *MAJOR_WORDS):
        return False
    return bool(rng.random() < 0.4)


def instruments_for(text: str) -> set[str]:
    ws = words(text)
    named = {i for i in INSTRUMENTS if i in ws}
    if has(ws, "drum", "beat", "percussion"):
        named.add("drums")
    if has(ws, "orchestra", "orchestral", "cinematic", "violin", "cello", "string"):
        named.add("strings")
    if has(ws, "electronic", "edm", "synthwave", "techno", "house"):
        named |= {"synth", "bass", "drums"}
    if has(ws, "rock", "punk", "guitar"):
        named |= {"guitar", "bass", "drums"}
    if has(ws, "lofi", "jazz", "hiphop"):
        named |= {"piano", "bass", "drums"}
    if has(ws, "ambient", "ballad", "lullaby", "sleep"):
        named |= {"piano", "strings"}
    return named or {"piano", "bass", "drums", "strings"}


MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]
PROGRESSIONS = {
    False: [[0, 4, 5, 3], [0, 5, 3, 4], [0, 3, 4, 3], [3, 4, 0, 5]],  # I-V-vi-IV ...
    True: [[0, 5, 2, 6], [0, 3, 6, 2], [0, 3, 4, 0], [0, 6, 5, 4]],  # i-VI-III-VII ...
}


def _hz(midi: float) -> float:
    return float(440.0 * 2 ** ((midi - 69) / 12))


class _Voices:
    """Note renderers with a cache: a melody repeats notes, so each is synthesized once."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.cache: dict[tuple[str, int, int], np.ndarray] = {}
        self.rng = rng

    def note(self, timbre: str, midi: int, samples: int) -> np.ndarray:
        key = (timbre, midi, samples)
        if key not in self.cache:
            self.cache[key] = getattr(self, f"_{timbre}")(_hz(midi), samples).astype(np.float32)
        return self.cache[key]

    @staticmethod
    def _t(samples: int) -> np.ndarray:
        return np.arange(samples, dtype=np.float64) / SR

    def _attack_release(self, samples: int, attack: float, release: float) -> np.ndarray:
        env = np.ones(samples)
        a, r = min(int(attack * SR), samples // 2), min(int(release * SR), samples // 2)
        if a:
            env[:a] = np.linspace(0, 1, a)
        if r:
            env[-r:] *= np.linspace(1, 0, r)
        return env

    def _piano(self, f: float, n: int) -> np.ndarray:
        t = self._t(n)
        out = np.zeros(n)
        for k in range(1, 7):
            out += (
                np.sin(TAU * k * f * (1 + 0.0004 * k * k) * t)
                * np.exp(-t * (1.8 + 0.9 * k))
                / k**1.3
            )
        return out * self._attack_release(n, 0.004, 0.05)

    def _guitar(self, f: float, n: int) -> np.ndarray:
        t = self._t(n)
        out = np.zeros(n)
        for k in range(1, 9):
            out += (
                np.sin(TAU * k * f * t) * np.exp(-t * (2.5 + 2.2 * k)) * (0.9 / k) * (1 + (k == 2))
            )
        return np.tanh(out * 1.6) * self._attack_release(n, 0.002, 0.04)

    def _strings(self, f: float, n: int) -> np.ndarray:
        t = self._t(n)
        vibrato = 1 + 0.003 * np.sin(TAU * 5.2 * t)
        out = np.zeros(n)
        for detune in (-0.003, 0.0, 0.0031):
            phase = TAU * f * (1 + detune) * np.cumsum(vibrato) / SR
            for k in range(1, 7):
                out += np.sin(k * phase) / k
        return out / 3 * self._attack_release(n, 0.25, 0.3)

    def _synth(self, f: float, n: int) -> np.ndarray:
        t = self._t(n)
        out = np.zeros(n)
        for k in range(1, 12, 2):  # odd harmonics: hollow square wave
            out += np.sin(TAU * k * f * t) * np.exp(-t * k * 3.0) / k
        return out * self._attack_release(n, 0.005, 0.05)

    def _bass(self, f: float, n: int) -> np.ndarray:
        t = self._t(n)
        out = np.sin(TAU * f * t) + 0.35 * np.sin(TAU * 2 * f * t) + 0.1 * np.sin(TAU * 3 * f * t)
        return np.tanh(1.4 * out) * np.exp(-t * 2.0) * self._attack_release(n, 0.006, 0.04)

    def _vocal(self, f: float, n: int) -> np.ndarray:
        """A sung "aah": harmonics weighted by the formants of an open vowel, with vibrato."""
        t = self._t(n)
        vib = 1 + 0.006 * np.sin(TAU * 5.5 * t) * np.clip(t * 2, 0, 1)
        phase = TAU * f * np.cumsum(vib) / SR
        out = np.zeros(n)
        for k in range(1, 24):
            fk = k * f
            if fk > 5000:
                break
            weight = (
                np.exp(-(((fk - 750) / 130) ** 2))
                + 0.6 * np.exp(-(((fk - 1200) / 160) ** 2))
                + 0.25 * np.exp(-(((fk - 2600) / 300) ** 2))
                + 0.15 / k
            )
            out += weight * np.sin(k * phase)
        return out * self._attack_release(n, 0.06, 0.12)


def _drum_kit(rng: np.random.Generator) -> dict[str, np.ndarray]:
    t = np.arange(int(0.45 * SR)) / SR
    sweep = 45 + 80 * np.exp(-t * 30)
    kick = np.sin(TAU * np.cumsum(sweep) / SR) * np.exp(-t * 9)
    ts = t[: int(0.25 * SR)]
    noise = rng.normal(size=ts.size)
    snare = (0.7 * noise * np.exp(-ts * 22) + 0.5 * np.sin(TAU * 185 * ts) * np.exp(-ts * 30)) * 0.7
    th = t[: int(0.08 * SR)]
    hiss = np.diff(rng.normal(size=th.size + 1))
    hat = hiss * np.exp(-th * 70) * 0.25
    return {"kick": kick.astype(np.float32), "snare": snare.astype(np.float32), "hat": hat}


def _place(track: np.ndarray, sound: np.ndarray, start: int, gain: float = 1.0) -> None:
    if start >= track.size or start < 0:
        return
    end = min(track.size, start + sound.size)
    track[start:end] += sound[: end - start] * gain


def compose_music(
    prompt: str,
    duration: float,
    *,
    seed: int,
    style: str = "",
    instrumental: bool = False,
    lyrics: str = "",
    vocal_gender: str = "",
    progress: ProgressReporter | None = None,
) -> np.ndarray:
    """Stereo float samples (n, 2) of the requested length."""
    text = f"{prompt} {style}"
    rng = rng_for("music", text, seed)
    bpm = tempo_for(text, rng)
    minor = minor_for(text, rng)
    instruments = instruments_for(text)
    ws = words(text)
    drums = "drums" in instruments and not has(ws, "ambient", "lullaby", "sleep")
    scale = MINOR if minor else MAJOR
    root = 48 + int(rng.integers(0, 12))  # C3..B3
    progression = PROGRESSIONS[minor][int(rng.integers(0, 4))]
    total = round(duration * SR)
    beat = 60.0 / bpm
    bar = round(4 * beat * SR)
    beat_n = bar // 4
    eighth = beat_n // 2
    bars = total // bar + 1
    voices = _Voices(rng)
    tracks = {name: np.zeros(total, np.float32) for name in ("chords", "bass", "lead", "drums")}
    kit = _drum_kit(rng)
    energetic = bpm >= 118
    lead = "synth" if "synth" in instruments else "guitar" if "guitar" in instruments else "piano"
    sing = not instrumental and bool(lyrics.strip() or vocal_gender)
    if sing:
        lead = "vocal"
    lead_octave = 12 if lead != "vocal" else (12 if vocal_gender.lower().startswith("f") else 0)
    if lyrics.strip():
        syllables = max(4, min(16, len(re.findall(r"[aeiouy]+", lyrics.lower())) // 4))
    else:
        syllables = 8
    degree = 0

    def chord_notes(step: int) -> list[int]:
        return [root + scale[(step + k) % 7] + 12 * ((step + k) // 7) for k in (0, 2, 4)]

    for b in range(bars):
        start = b * bar
        step = progression[b % len(progression)]
        notes = chord_notes(step)
        intro = b < 1 and bars > 4
        outro = b >= bars - 1
        # chords: sustained strings/synth pad and/or piano/guitar hits
        if "strings" in instruments or ("synth" in instruments and not energetic):
            pad = "strings" if "strings" in instruments else "synth"
            for m in notes:
                _place(tracks["chords"], voices.note(pad, m + 12, bar + eighth), start, 0.16)
        comp = next((i for i in ("piano", "guitar", "synth") if i in instruments), None)
        if comp is not None:
            hits: list[float] = [0, 2] if not energetic else [0, 1, 2, 3]
            if comp == "guitar":
                hits = [0, 1.5, 2, 3] if energetic else [0, 2]
            for h in hits:
                for j, m in enumerate(notes):
                    offset = int(h * beat_n) + (j * int(0.012 * SR) if comp == "guitar" else 0)
                    length = int(beat_n * (2 if not energetic else 1))
                    _place(tracks["chords"], voices.note(comp, m + 12, length), start + offset, 0.2)
        if "bass" in instruments and not intro:
            pattern: list[float] = [0, 2] if not energetic else [0, 0.5, 1.5, 2, 2.5, 3.5]
            for h in pattern:
                _place(
                    tracks["bass"],
                    voices.note("bass", notes[0] - 12, beat_n),
                    start + int(h * beat_n),
                    0.5,
                )
        if drums and not intro and not outro:
            kicks = [0, 2] if not energetic else [0, 1, 2, 3]
            for h in kicks:
                _place(tracks["drums"], kit["kick"], start + int(h * beat_n), 0.9)
            if energetic:
                _place(tracks["drums"], kit["kick"], start + int(2.5 * beat_n), 0.6)
            for h in (1, 3):
                _place(tracks["drums"], kit["snare"], start + int(h * beat_n), 0.55)
            div = 4 if energetic else 2
            for k in range(4 * div):
                accent = 1.0 if k % div == 0 else 0.6
                _place(tracks["drums"], kit["hat"], start + int(k * beat_n / div), accent)
        # melody: a walk on the scale that leans on chord tones
        if not intro:
            pos = 0
            steps_per_bar = 8
            phrase = syllables if sing else steps_per_bar
            for k in range(steps_per_bar):
                if k >= phrase or rng.random() < (0.25 if k % 2 else 0.1):
                    pos += eighth
                    continue
                length = eighth * (2 if rng.random() < 0.35 else 1)
                if k % 4 == 0:
                    degree = step + 2 * int(rng.integers(0, 3))
                else:
                    degree += int(rng.choice([-2, -1, 1, 1, 2]))
                    degree = int(np.clip(degree, step - 3, step + 9))
                midi = root + 12 + lead_octave + scale[degree % 7] + 12 * (degree // 7)
                _place(tracks["lead"], voices.note(lead, midi, int(length * 1.1)), start + pos, 0.3)
                pos += length
        if progress is not None:
            progress.fraction((b + 1) / bars)

    mix_l = tracks["chords"] * 0.8 + tracks["bass"] + tracks["lead"] * 0.75 + tracks["drums"]
    mix_r = tracks["chords"] * 1.0 + tracks["bass"] + tracks["lead"] * 0.95 + tracks["drums"]
    stereo = np.stack([mix_l, mix_r], axis=1).astype(np.float64)
    # a small room: a few decaying early reflections, different per side
    wet = np.zeros_like(stereo)
    for k, (dl, dr) in enumerate([(0.029, 0.037), (0.053, 0.047), (0.079, 0.089), (0.131, 0.113)]):
        gain = 0.32 * 0.7**k
        for ch, d in ((0, dl), (1, dr)):
            lag = int(d * SR)
            wet[lag:, ch] += stereo[:-lag, ch] * gain
    stereo += wet
    return _master(stereo, total)


def _master(samples: np.ndarray, total: int, fade_out: float = 1.5) -> np.ndarray:
    peak = np.abs(samples).max() or 1.0
    out = np.tanh(samples / peak * 1.1) * 0.85
    fade_in = min(int(0.02 * SR), total // 4)
    tail = min(int(fade_out * SR), total // 4)
    env = np.ones(total)
    if fade_in:
        env[:fade_in] = np.linspace(0, 1, fade_in)
    if tail:
        env[-tail:] = np.linspace(1, 0, tail) ** 1.5
    return out * (env[:, None] if out.ndim == 2 else env)


def render_music(
    prompt: str,
    *,
    duration: float = 30,
    style: str = "",
    instrumental: bool = False,
    lyrics: str = "",
    vocal_gender: str = "",
    seed: int | None = None,
    out_dir: Path,
    progress: Progress | None = None,
) -> RenderedFile:
    """Stereo 44.1 kHz 16-bit WAV of exactly `duration` seconds, deterministic per prompt+seed.

    Tempo from words (slow/chill/ballad, upbeat/dance/energetic, or "120 bpm"), key from mood
    (sad/dark: minor; happy/bright: major), timbres from instrument words (piano, bass, drums,
    strings, synth, guitar); an "aah" vocal line sings the melody when lyrics or a vocal gender
    are given and the track is not instrumental.
    """
    duration = _check_duration(duration)
    out_dir = prepare_out_dir(out_dir)
    used_seed = effective_seed(prompt, seed)
    reporter = ProgressReporter(progress, 0, 90)
    reporter.report(0)
    samples = compose_music(
        prompt,
        duration,
        seed=used_seed,
        style=style,
        instrumental=instrumental,
        lyrics=lyrics,
        vocal_gender=vocal_gender,
        progress=reporter,
    )
    key = (prompt, duration, style, instrumental, lyrics, vocal_gender, used_seed)
    target = out_dir / output_name("music", "wav", *key)
    write_wav(target, samples, SR)
    if progress is not None:
        ProgressReporter(progress, 90, 100).finish()
    return audio_result(target, samples.shape[0], SR)


# --- sound effects -----------------------------------------------------------------------------

FRAME = 2048
HOP = FRAME // 2


def shaped_noise(
    total: int,
    rng: np.random.Generator,
    mask: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Noise whose spectrum follows mask(times (F,1) in s, freqs (1,B) in Hz): overlap-add of
    random-phase frames, all frames at once."""
    frames = total // HOP + 2
    times = (np.arange(frames) * HOP / SR)[:, None]
    freqs = np.fft.rfftfreq(FRAME, 1 / SR)[None, :]
    amp = np.broadcast_to(mask(times, freqs), (frames, freqs.shape[1]))
    phase = rng.uniform(0, TAU, amp.shape)
    blocks = np.fft.irfft(amp * np.exp(1j * phase), n=FRAME, axis=1) * np.hanning(FRAME)
    out = np.zeros((frames + 1) * HOP)
    out[: frames * HOP] += blocks[:, :HOP].ravel()
    out[HOP : (frames + 1) * HOP] += blocks[:, HOP:].ravel()
    out = out[HOP : HOP + total]
    return out / (np.abs(out).max() or 1.0)


def _band(freqs: np.ndarray, centre: np.ndarray | float, width: float) -> np.ndarray:
    return np.exp(-((np.log2(np.maximum(freqs, 20) / centre) / width) ** 2))


def _slow(rng: np.random.Generator, times: np.ndarray, rate: float) -> np.ndarray:
    """A smooth random curve in 0..1 over `times` (F,1), changing about `rate` times a second."""
    knots = np.arange(0, times.max() + 2 / rate, 1 / rate)
    return np.interp(times, knots, rng.random(knots.size))


def _impulses(total: int, rng: np.random.Generator, per_second: float) -> np.ndarray:
    train = np.zeros(total)
    count = rng.poisson(per_second * total / SR)
    train[rng.integers(0, total, count)] = rng.uniform(0.3, 1.0, count)
    return train


def _convolve(signal: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    size = signal.size + kernel.size - 1
    n = 1 << (size - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(signal, n) * np.fft.rfft(kernel, n), n)
    return out[: signal.size]


def _rain(total: int, rng: np.random.Generator) -> np.ndarray:
    hiss = shaped_noise(
        total, rng, lambda t, f: _band(f, 3500, 1.6) * (0.8 + 0.2 * _slow(rng, t, 2))
    )
    k = np.arange(int(0.006 * SR)) / SR
    drop = np.sin(TAU * 2800 * k) * np.exp(-k * 900)
    drops = _convolve(_impulses(total, rng, 60), drop)
    return 0.6 * hiss + 0.5 * drops / (np.abs(drops).max() or 1)


def _wind(total: int, rng: np.random.Generator) -> np.ndarray:
    def mask(t: np.ndarray, f: np.ndarray) -> np.ndarray:
        gust = _slow(rng, t, 0.5)
        return _band(f, 250 + 600 * gust, 0.9) * (0.3 + 0.7 * gust)

    return shaped_noise(total, rng, mask)


def _waves(total: int, rng: np.random.Generator) -> np.ndarray:
    period = rng.uniform(5.5, 8.0)

    def mask(t: np.ndarray, f: np.ndarray) -> np.ndarray:
        swell = np.sin(np.pi * t / period) ** 2
        tilt = (np.maximum(f, 40) / 200) ** (-0.8 + 0.5 * swell)
        return tilt * (0.15 + 0.85 * swell) * (f < 9000)

    return shaped_noise(total, rng, mask)


def _thunder(total: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(total) / SR
    start = rng.uniform(0.05, 0.3)
    rumble = shaped_noise(total, rng, lambda tt, f: (np.maximum(f, 30) / 60) ** -1.2 * (f < 400))
    crack = shaped_noise(total, rng, lambda tt, f: _band(f, 2000, 2.5))
    env = np.where(t >= start, np.exp(-(t - start) * 0.9), 0) * (0.7 + 0.3 * np.sin(TAU * 1.3 * t))
    crack_env = np.where(t >= start, np.exp(-(t - start) * 12), 0)
    return rumble * env + 0.6 * crack * crack_env


def _explosion(total: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(total) / SR
    boom = np.sin(TAU * np.cumsum(30 + 60 * np.exp(-t * 4)) / SR) * np.exp(-t * 1.6)
    body = shaped_noise(total, rng, lambda tt, f: (np.maximum(f, 30) / 80) ** -1.0 * (f < 3000))
    return boom + 0.8 * body * np.exp(-t * 1.2) + 0.5 * body * np.exp(-t * 25)


def _whoosh(total: int, rng: np.random.Generator) -> np.ndarray:
    every = max(1.2, min(2.5, total / SR))

    def mask(t: np.ndarray, f: np.ndarray) -> np.ndarray:
        x = (t % every) / every
        bell = np.exp(-(((x - 0.5) / 0.18) ** 2))
        return _band(f, 300 + 2700 * bell, 0.6) * bell

    return shaped_noise(total, rng, mask)


def _beep(total: int, rng: np.random.Generator, alarm: bool) -> np.ndarray:
    t = np.arange(total) / SR
    if alarm:
        freq = np.where((t * 2.5) % 1 < 0.5, 880.0, 660.0)
        tone = np.sign(np.sin(TAU * np.cumsum(freq) / SR)) * 0.5
        return tone * (0.6 + 0.4 * ((t * 2.5) % 1 < 0.5))
    gate = (t % 0.5) < 0.15
    return np.sin(TAU * 1000 * t) * gate * np.clip(np.minimum(t % 0.5, 0.15 - t % 0.5) * 400, 0, 1)


def _footsteps(total: int, rng: np.random.Generator) -> np.ndarray:
    k = np.arange(int(0.12 * SR)) / SR
    thud = np.sin(TAU * 90 * k) * np.exp(-k * 45)
    grit = rng.normal(size=k.size) * np.exp(-k * 80) * 0.4
    step = thud + np.convolve(grit, [1, -0.9], mode="same")
    train = np.zeros(total)
    pace = rng.uniform(0.45, 0.6)
    hits = (np.arange(0.2, total / SR, pace) * SR).astype(int)
    train[hits] = np.where(np.arange(hits.size) % 2, 0.75, 1.0)
    return _convolve(train, step)


def _clicks(total: int, rng: np.random.Generator) -> np.ndarray:
    k = np.arange(int(0.004 * SR)) / SR
    click = np.sin(TAU * 3200 * k) * np.exp(-k * 1800)
    train = np.zeros(total)
    train[(np.arange(0.1, total / SR, 0.6) * SR).astype(int)] = 1.0
    return _convolve(train, click)


def _applause(total: int, rng: np.random.Generator) -> np.ndarray:
    k = np.arange(int(0.02 * SR)) / SR
    clap = np.convolve(rng.normal(size=k.size), [1, -0.95], mode="same") * np.exp(-k * 220)
    claps = _convolve(_impulses(total, rng, 45), clap)
    t = np.arange(total) / SR
    swell = np.clip(t / 0.8, 0, 1) * np.clip((total / SR - t) / 1.2, 0, 1)
    return claps * swell


def _engine(total: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(total) / SR
    rev = 32 + 22 * np.clip(np.sin(np.pi * t / (total / SR)) * 1.2, 0, 1)
    phase = TAU * np.cumsum(rev) / SR
    tone = sum(np.sin(k * phase) / k**0.8 for k in range(1, 13))
    rough = shaped_noise(total, rng, lambda tt, f: _band(f, 400, 1.5))
    return np.tanh(tone * 0.5) + 0.3 * rough * (1 + np.sin(phase)) / 2


def _birds(total: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(total)
    t_pos = rng.uniform(0.1, 0.6)
    while t_pos < total / SR - 0.3:
        base = rng.uniform(2500, 4500)
        for _ in range(int(rng.integers(2, 6))):
            n = int(rng.uniform(0.05, 0.12) * SR)
            k = np.arange(n) / SR
            sweep = base * (1 + rng.uniform(-0.35, 0.35) * k / k[-1])
            chirp = np.sin(TAU * np.cumsum(sweep) / SR) * np.sin(np.pi * k / k[-1]) ** 2
            _place(out, chirp, int(t_pos * SR))
            t_pos += n / SR + rng.uniform(0.02, 0.08)
        t_pos += rng.uniform(0.4, 1.4)
    air = shaped_noise(total, rng, lambda tt, f: _band(f, 600, 1.2)) * 0.08
    return out * 0.7 + air


def _texture(total: int, rng: np.random.Generator) -> np.ndarray:
    centre = rng.uniform(150, 2500)
    noise = shaped_noise(
        total, rng, lambda t, f: _band(f, centre * (0.7 + 0.6 * _slow(rng, t, 1)), 0.8)
    )
    t = np.arange(total) / SR
    drone = np.sin(TAU * centre / 4 * t) * (0.5 + 0.5 * np.sin(TAU * 0.3 * t))
    return noise + 0.3 * drone


SOUNDS: list[tuple[tuple[str, ...], Callable[[int, np.random.Generator], np.ndarray]]] = [
    (("rain", "drizzle", "storm", "shower"), _rain),
    (("wind", "breeze", "gust", "storm", "blizzard"), _wind),
    (("ocean", "wave", "sea", "surf", "beach", "shore"), _waves),
    (("thunder", "lightning", "storm"), _thunder),
    (("explosion", "explode", "blast", "boom", "bomb"), _explosion),
    (("whoosh", "swoosh", "swish", "transition", "woosh"), _whoosh),
    (("beep", "notification", "ping", "timer"), lambda n, r: _beep(n, r, alarm=False)),
    (("alarm", "siren", "warning", "alert"), lambda n, r: _beep(n, r, alarm=True)),
    (("footstep", "footsteps", "walking", "steps", "walk"), _footsteps),
    (("click", "tick", "button", "typing", "clock"), _clicks),
    (("applause", "clapping", "clap", "crowd", "cheering"), _applause),
    (("engine", "car", "motor", "truck", "motorcycle", "rev"), _engine),
    (("bird", "birds", "chirp", "tweet", "forest", "morning"), _birds),
]


def compose_sound(prompt: str, duration: float, *, seed: int) -> np.ndarray:
    ws = words(prompt)
    total = round(duration * SR)
    rng = rng_for("sound", prompt, seed)
    layers = [fn(total, rng) for keys, fn in SOUNDS if has(ws, *keys)]
    if not layers:
        layers = [_texture(total, rng_for("texture", stable_int(prompt), seed))]
    mix = np.zeros(total)
    for layer in layers:
        mix += layer[:total] / (np.abs(layer).max() or 1.0)
    return _master(mix, total, fade_out=min(0.3, duration / 4))


def render_sound(
    prompt: str,
    *,
    duration: float | None = None,
    seed: int | None = None,
    out_dir: Path,
    progress: Progress | None = None,
) -> RenderedFile:
    """Mono 44.1 kHz 16-bit WAV (default 5 s) layering the effects the prompt names: rain, wind,
    ocean/waves, thunder, explosion, whoosh, beep, alarm/siren, footsteps, click, applause,
    engine, birds; a prompt naming none gets an evolving texture hashed from its words."""
    duration = _check_duration(5.0 if duration is None else duration)
    out_dir = prepare_out_dir(out_dir)
    used_seed = effective_seed(prompt, seed)
    reporter = ProgressReporter(progress)
    reporter.report(0)
    samples = compose_sound(prompt, duration, seed=used_seed)
    reporter.report(85)
    target = out_dir / output_name("sound", "wav", prompt, duration, used_seed)
    write_wav(target, samples, SR)
    reporter.finish()
    return audio_result(target, samples.shape[0], SR)

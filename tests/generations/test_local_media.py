"""The offline engine's media: what a user opening the files would notice."""

from __future__ import annotations

import itertools
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from generations.providers.local import (
    MediaError,
    RenderedFile,
    make_thumbnail,
    probe,
    render_images,
    render_music,
    render_sound,
    render_speech,
    render_video,
    voices,
)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        raw = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        mono = raw.reshape(-1, wav.getnchannels()).mean(axis=1) / 32768.0
        return mono, wav.getframerate()


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples**2)))


def mean_colour(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)


class Recorder:
    def __init__(self) -> None:
        self.values: list[int] = []

    def __call__(self, value: int) -> None:
        self.values.append(value)

    def is_monotonic_and_complete(self) -> bool:
        v = self.values
        return bool(v) and all(a < b for a, b in itertools.pairwise(v)) and v[-1] == 100


# --- images ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "size"),
    [
        ("1:1", (1024, 1024)),
        ("16:9", (1024, 576)),
        ("9:16", (576, 1024)),
        ("4:5", (816, 1024)),
        ("21:9", (1024, 440)),
    ],
)
def test_an_image_has_the_shape_of_the_aspect_ratio_asked_for(tmp_path, ratio, size):
    [image] = render_images("a quiet harbour at dawn", aspect_ratio=ratio, out_dir=tmp_path)
    assert image.mime_type == "image/png"
    assert (image.width, image.height) == size
    with Image.open(image.path) as img:
        assert img.format == "PNG"
        assert img.size == size
    assert image.path.parent == tmp_path
    assert image.size_bytes == image.path.stat().st_size


def test_hd_doubles_the_long_side(tmp_path):
    [image] = render_images("city skyline", aspect_ratio="3:2", hd=True, out_dir=tmp_path)
    assert (image.width, image.height) == (2048, 1368)


def test_asking_for_several_images_gives_distinct_variants(tmp_path):
    images = render_images("abstract shapes", count=3, seed=7, out_dir=tmp_path)
    assert len(images) == 3
    contents = {img.path.read_bytes() for img in images}
    assert len(contents) == 3


def test_the_same_prompt_and_seed_reproduce_the_same_bytes(tmp_path):
    first = render_images("mountain lake", seed=42, out_dir=tmp_path / "a")
    again = render_images("mountain lake", seed=42, out_dir=tmp_path / "b")
    other = render_images("mountain lake", seed=43, out_dir=tmp_path / "c")
    assert first[0].path.read_bytes() == again[0].path.read_bytes()
    assert first[0].path.read_bytes() != other[0].path.read_bytes()


def test_a_red_sunset_is_warmer_than_a_blue_ocean(tmp_path):
    [sunset] = render_images("red sunset", seed=1, out_dir=tmp_path)
    [ocean] = render_images("blue ocean", seed=1, out_dir=tmp_path)
    r1, _, b1 = mean_colour(sunset.path)
    r2, _, b2 = mean_colour(ocean.path)
    assert r1 > b1, "a sunset should be mostly warm"
    assert b2 > r2, "an ocean should be mostly blue"
    assert (r1 - b1) - (r2 - b2) > 40


def test_a_forest_is_green(tmp_path):
    [forest] = render_images("deep forest", seed=3, out_dir=tmp_path)
    r, g, b = mean_colour(forest.path)
    assert g > r and g > b


def test_a_reference_cutout_appears_in_the_middle_of_the_image(tmp_path):
    cutout = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(cutout).ellipse((50, 50, 250, 250), fill=(255, 0, 255, 255))
    ref = tmp_path / "product.png"
    cutout.save(ref)
    [image] = render_images("product shot", reference_images=[ref], out_dir=tmp_path / "out")
    with Image.open(image.path) as img:
        pixels = np.asarray(img.convert("RGB")).astype(int)
    h, w, _ = pixels.shape
    centre = pixels[h // 3 : h * 2 // 3, w // 3 : w * 2 // 3]
    magenta = (centre[..., 0] > 240) & (centre[..., 1] < 15) & (centre[..., 2] > 240)
    assert magenta.mean() > 0.25
    corners = pixels[:40, :40]
    assert not ((corners[..., 0] > 240) & (corners[..., 1] < 15)).any(), "transparency kept"


def test_image_progress_only_goes_up_and_ends_at_100(tmp_path):
    progress = Recorder()
    render_images("neon", count=2, out_dir=tmp_path, progress=progress)
    assert progress.is_monotonic_and_complete()


def test_an_impossible_aspect_ratio_is_refused(tmp_path):
    with pytest.raises(MediaError):
        render_images("x", aspect_ratio="wide", out_dir=tmp_path)


# --- video -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def text_video(tmp_path_factory) -> tuple[RenderedFile, list[int]]:
    progress = Recorder()
    video = render_video(
        "a red sunset over the ocean",
        duration=4,
        seed=5,
        out_dir=tmp_path_factory.mktemp("video"),
        progress=progress,
    )
    return video, progress.values


def test_a_video_is_h264_of_the_asked_length_and_size(text_video):
    video, _ = text_video
    assert video.mime_type == "video/mp4"
    assert (video.width, video.height) == (640, 360)
    with av.open(str(video.path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = list(container.decode(stream))
    assert abs(len(frames) - 4 * 24) <= 1
    assert frames[0].width == 640 and frames[0].height == 360
    assert frames[10].format.name == "yuv420p"
    assert abs(video.duration - 4.0) <= 1 / 24


def test_a_video_moves(text_video):
    video, _ = text_video
    with av.open(str(video.path)) as container:
        frames = [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]
    assert np.abs(frames[30] - frames[70]).mean() > 1.0


def test_video_progress_is_reported_while_encoding(text_video):
    _, values = text_video
    assert len(values) > 10
    assert all(a < b for a, b in itertools.pairwise(values)) and values[-1] == 100


def test_a_source_image_is_animated_into_a_portrait_video(tmp_path):
    source = tmp_path / "still.png"
    Image.new("RGB", (800, 600), (20, 200, 40)).save(source)
    video = render_video(
        "slow zoom", aspect_ratio="9:16", duration=2, source_image=source, out_dir=tmp_path
    )
    assert (video.width, video.height) == (360, 640)
    with av.open(str(video.path)) as container:
        frame = list(container.decode(video=0))[24]
        r, g, b = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
    assert g > 150 and r < 60 and b < 80, "the source picture is what we see"


# --- music and sound ---------------------------------------------------------------------------


def test_music_has_the_asked_length_and_is_not_silent(tmp_path):
    progress = Recorder()
    track = render_music("upbeat dance", duration=8, seed=1, out_dir=tmp_path, progress=progress)
    samples, rate = read_wav(track.path)
    assert track.mime_type == "audio/wav"
    assert rate == 44100
    assert abs(samples.size / rate - 8) < 0.01
    assert track.duration == pytest.approx(8, abs=0.01)
    assert rms(samples) > 0.05
    assert progress.is_monotonic_and_complete()


def test_tempo_words_change_the_music(tmp_path):
    slow = render_music("slow chill ballad", duration=6, seed=1, out_dir=tmp_path)
    fast = render_music("energetic dance 128 bpm", duration=6, seed=1, out_dir=tmp_path)
    assert slow.path.read_bytes() != fast.path.read_bytes()
    onsets = []
    for track in (slow, fast):
        samples, rate = read_wav(track.path)
        energy = np.abs(samples[: rate * 5]).reshape(-1, rate // 50).mean(axis=1)
        onsets.append(int((np.diff(energy) > energy.mean() * 0.3).sum()))
    assert onsets[1] > onsets[0], "faster music has more note onsets"


def test_music_is_reproducible_for_a_prompt_and_seed(tmp_path):
    a = render_music("piano", duration=5, seed=9, out_dir=tmp_path / "a")
    b = render_music("piano", duration=5, seed=9, out_dir=tmp_path / "b")
    assert a.path.read_bytes() == b.path.read_bytes()


@pytest.mark.parametrize("prompt", ["rain on a window", "explosion", "alarm", "birds", "hum"])
def test_a_sound_effect_lasts_five_seconds_by_default_and_is_audible(tmp_path, prompt):
    sound = render_sound(prompt, out_dir=tmp_path)
    samples, rate = read_wav(sound.path)
    assert rate == 44100
    assert abs(samples.size / rate - 5) < 0.01
    assert rms(samples) > 0.02


def test_different_effects_sound_different(tmp_path):
    rain, _ = read_wav(render_sound("rain", duration=2, out_dir=tmp_path).path)
    engine, _ = read_wav(render_sound("engine", duration=2, out_dir=tmp_path).path)
    spectrum_rain = np.abs(np.fft.rfft(rain))
    spectrum_engine = np.abs(np.fft.rfft(engine))
    freqs = np.fft.rfftfreq(rain.size, 1 / 44100)
    centroid = [float((freqs * s).sum() / s.sum()) for s in (spectrum_rain, spectrum_engine)]
    assert centroid[0] > centroid[1] * 2, "rain is hissy, an engine rumbles"


# --- speech ------------------------------------------------------------------------------------


def test_speech_is_audible_and_its_duration_is_the_audio_written(tmp_path):
    progress = Recorder()
    speech = render_speech("Hello, world.", out_dir=tmp_path, progress=progress)
    samples, rate = read_wav(speech.path)
    assert speech.mime_type == "audio/wav"
    assert speech.duration == pytest.approx(samples.size / rate, abs=0.001)
    assert 0.5 < speech.duration < 5
    assert rms(samples) > 0.02
    assert progress.is_monotonic_and_complete()


def test_longer_text_gives_longer_speech(tmp_path):
    short = render_speech("Good morning.", out_dir=tmp_path)
    long = render_speech(
        "Good morning. Today we are going to render some speech on this very machine.",
        out_dir=tmp_path,
    )
    assert long.duration > short.duration * 2


def test_voices_differ(tmp_path):
    text = "The quick brown fox jumps over the lazy dog."
    female, _ = read_wav(render_speech(text, voice="en-us-f", out_dir=tmp_path).path)
    male, _ = read_wav(render_speech(text, voice="en-us-m", out_dir=tmp_path).path)
    assert female.size != male.size or not np.array_equal(female, male)
    french = render_speech("Bonjour tout le monde", voice="fr-fr-m", out_dir=tmp_path)
    assert french.duration > 0.5


def test_every_seeded_voice_speaks(tmp_path):
    ids = {v["voice_id"] for v in voices()}
    assert ids == {
        "en-us-f",
        "en-us-m",
        "en-gb-f",
        "en-gb-m",
        "es-es-f",
        "fr-fr-m",
        "de-de-f",
        "it-it-m",
    }
    for voice in sorted(ids):
        assert render_speech("One two three.", voice=voice, out_dir=tmp_path).duration > 0.5


def test_an_unknown_voice_is_refused(tmp_path):
    with pytest.raises(MediaError):
        render_speech("hi", voice="klingon", out_dir=tmp_path)


# --- thumbnails and probing --------------------------------------------------------------------


def test_thumbnails_are_webp_within_the_max_side(tmp_path, text_video):
    [image] = render_images("pastel flowers", aspect_ratio="9:16", out_dir=tmp_path)
    for source in (image, text_video[0]):
        thumb = make_thumbnail(source, out_dir=tmp_path / "thumbs", max_side=256)
        assert thumb is not None
        with Image.open(thumb.path) as img:
            assert img.format == "WEBP"
            assert max(img.size) == 256
            assert (img.width, img.height) == (thumb.width, thumb.height)
    sound = render_sound("wind", duration=1, out_dir=tmp_path)
    wave_thumb = make_thumbnail(sound, out_dir=tmp_path / "thumbs", max_side=128)
    assert wave_thumb is None or wave_thumb.mime_type == "image/webp"


def test_probe_reads_real_metadata_of_each_kind(tmp_path, text_video):
    [image] = render_images("desert", aspect_ratio="4:3", out_dir=tmp_path)
    assert probe(image.path) == {
        "mime_type": "image/png",
        "width": 1024,
        "height": 768,
        "duration": None,
        "size_bytes": image.size_bytes,
    }
    video = probe(text_video[0].path)
    assert video["mime_type"] == "video/mp4"
    assert (video["width"], video["height"]) == (640, 360)
    assert video["duration"] == pytest.approx(4.0, abs=1 / 24)
    sound = probe(render_sound("click", duration=2.5, out_dir=tmp_path).path)
    assert sound["mime_type"] == "audio/wav"
    assert sound["duration"] == pytest.approx(2.5, abs=0.01)
    assert sound["width"] is None


def test_probe_refuses_what_is_not_media(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not media")
    with pytest.raises(MediaError):
        probe(junk)


def test_nothing_is_written_outside_the_output_folder(tmp_path):
    out = tmp_path / "out"
    render_images("sky", out_dir=out)
    render_sound("beep", duration=1, out_dir=out)
    render_speech("Hi.", out_dir=out)
    assert {p.parent for p in tmp_path.rglob("*") if p.is_file()} == {out}
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "no temporary files left"

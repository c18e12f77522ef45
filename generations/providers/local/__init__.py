"""The offline engine's media layer: real images, video, music, sound and speech made on this
machine with no network. Every render writes only inside `out_dir` and reports progress 0-100.

    render_images  PNG, long side 1024 (2048 hd), `count` deterministic variants
    render_video   MP4 H.264 yuv420p 24 fps, long side 640 (1280 hd), from text or a source image
    render_music   stereo 44.1 kHz 16-bit WAV of the requested length
    render_sound   mono 44.1 kHz 16-bit WAV, 5 s by default
    render_speech  mono 16-bit WAV from eSpeak NG (22.05 kHz)
    make_thumbnail WebP preview: image, video poster frame, or audio waveform
    probe          real metadata of any image, audio or video file (Pillow / PyAV)
"""

from .audio import render_music, render_sound
from .image import render_images
from .media import MediaError, Progress, RenderedFile, make_thumbnail, probe
from .speech import SpeechUnavailable, render_speech, voices
from .video import render_video

__all__ = [
    "MediaError",
    "Progress",
    "RenderedFile",
    "SpeechUnavailable",
    "make_thumbnail",
    "probe",
    "render_images",
    "render_music",
    "render_sound",
    "render_speech",
    "render_video",
    "voices",
]

"""The offline engine as a provider: renders on this machine, synchronously, in `submit`."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from generations.models import GenerationType
from generations.providers import local as media
from generations.providers.base import (
    Failed,
    Failure,
    FailureCategory,
    Finished,
    Job,
    Outcome,
    Output,
    ProgressCallback,
    ProviderAdapter,
)
from generations.providers.local import chat, edit

log = logging.getLogger(__name__)


def _title(prompt: str) -> str:
    words = re.findall(r"[A-Za-z0-9']+", prompt)[:5]
    return " ".join(w.capitalize() for w in words) or "Untitled"


class LocalEngine(ProviderAdapter):
    name = "local"
    # Rendering has no side effect outside the work dir, so a re-run after a crash is safe.
    idempotent_submit = True
    submit_lease_seconds = 300
    needs_credential = False

    def submit(self, job: Job, progress: ProgressCallback) -> Outcome:
        p = job.params
        out = job.work_dir
        out.mkdir(parents=True, exist_ok=True)
        try:
            if job.type == GenerationType.CHAT:
                return chat.answer(job, progress)
            if job.type == GenerationType.AD:
                from generations.ads.render import render_ad

                return render_ad(job, progress)
            if job.type == GenerationType.IMAGE:
                references = [job.inputs[k] for k in sorted(job.inputs) if k.startswith("ref")]
                files = media.render_images(
                    p["prompt"],
                    aspect_ratio=p["aspect_ratio"],
                    count=p["count"],
                    hd=p.get("hd", False),
                    seed=p.get("seed"),
                    reference_images=references,
                    out_dir=out,
                    progress=progress,
                )
                return Finished([Output(path=f.path, mime_type=f.mime_type) for f in files])
            if job.type == GenerationType.IMAGE_EDIT:
                sources = sorted(
                    (int(k[6:]), path) for k, path in job.inputs.items() if k.startswith("source")
                )
                files, meta = edit.render_edits(
                    p["prompt"],
                    [path for _, path in sources],
                    aspect_ratio=p.get("aspect_ratio"),
                    count=p.get("count") or 1,
                    seed=p.get("seed"),
                    out_dir=out,
                    progress=progress,
                )
                return Finished([Output(path=f.path, mime_type=f.mime_type) for f in files], meta)
            if job.type in (GenerationType.VIDEO, GenerationType.VIDEO_FROM_IMAGE):
                video = media.render_video(
                    p.get("prompt") or "",
                    aspect_ratio=p["aspect_ratio"],
                    duration=p["duration"],
                    seed=p.get("seed"),
                    source_image=job.inputs.get("image_url"),
                    hd=p.get("hd", False),
                    out_dir=out,
                    progress=progress,
                )
                return Finished([Output(path=video.path, mime_type=video.mime_type)])
            if job.type == GenerationType.MUSIC:
                track = media.render_music(
                    p["prompt"],
                    duration=p["duration"],
                    style=p.get("style", ""),
                    instrumental=p.get("instrumental", False),
                    lyrics=p.get("lyrics", ""),
                    vocal_gender=p.get("vocal_gender", ""),
                    seed=p.get("seed"),
                    out_dir=out,
                    progress=progress,
                )
                meta = {
                    "title": _title(p.get("style") or p["prompt"]),
                    "lyrics": p.get("lyrics", ""),
                }
                return Finished([Output(path=track.path, mime_type=track.mime_type)], meta)
            if job.type == GenerationType.SOUND:
                sound = media.render_sound(
                    p["prompt"],
                    duration=p.get("duration"),
                    seed=p.get("seed"),
                    out_dir=out,
                    progress=progress,
                )
                return Finished([Output(path=sound.path, mime_type=sound.mime_type)])
            if job.type == GenerationType.SPEECH:
                speech = media.render_speech(
                    p["text"],
                    voice=p["voice"],
                    language=p.get("language", "en-US"),
                    out_dir=out,
                    progress=progress,
                )
                return Finished(
                    [Output(path=speech.path, mime_type=speech.mime_type)], {"voice": p["voice"]}
                )
        except Exception as exc:  # a render bug must fail the job (and refund), not hang it
            log.exception("offline engine failed on %s", job.generation_id)
            return Failed(
                Failure(
                    f"The offline engine could not render this: {exc}",
                    FailureCategory.INTERNAL,
                    "LOCAL_RENDER_FAILED",
                    provider=self.name,
                )
            )
        return Failed(
            Failure(
                f"The offline engine does not do {job.type}",
                FailureCategory.INVALID_INPUT,
                "UNSUPPORTED_TYPE",
                provider=self.name,
            )
        )

    def reference_plate(
        self, job_type: str, params: dict[str, Any], references: list[Path], directory: Path
    ) -> Path | None:
        """The offline text-to-video takes no references: it animates a source image. A
        product-led video gets a still of the products in their scene, so it shows them."""
        if job_type != GenerationType.VIDEO or params.get("image_url"):
            return None
        if not params.get("product_ids"):
            return None
        from PIL import Image

        from generations.providers.local.image import effective_seed, image_size, render_image

        prompt = params.get("prompt") or ""
        width, height = image_size(params.get("aspect_ratio") or "16:9")
        pictures = []
        for path in references:
            with Image.open(path) as picture:
                pictures.append(picture.convert("RGBA"))
        plate = render_image(
            prompt,
            width,
            height,
            seed=effective_seed(prompt, params.get("seed")),
            references=pictures,
            caption=False,
        )
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / "input-image_url-plate.png"
        plate.save(target, "PNG")
        return target

"""Errors from the service layer land where the user looks: on the field they are about, in
the form's words, with the way out (add credits, free up space) when there is one."""

from __future__ import annotations

import pytest
from django.urls import reverse

from generations import params
from generations.forms import StudioForm, models_for
from generations.models import AIModel, Generation, Voice
from studio.errors import InsufficientCredits, StudioError
from tests.generations.helpers import run, start

HTMX = {"HTTP_HX_REQUEST": "true"}


def bound_form(team, generation_type: str, model: AIModel, data: dict) -> StudioForm:
    """A Studio form for `model` that passed its own checks, as the view holds it when the
    service is called."""
    form = StudioForm(
        {"type": generation_type, "model": model.identifier, **data},
        generation_type=generation_type,
        models=models_for(generation_type, team),
        model=model,
    )
    assert form.is_valid(), form.errors
    return form


def service_error(generation_type: str, model: AIModel, raw: dict) -> StudioError:
    with pytest.raises(StudioError) as caught:
        params.validate(generation_type, raw, model)
    return caught.value


@pytest.mark.parametrize(
    ("generation_type", "identifier", "form_data", "raw", "field", "api_text", "form_text"),
    [
        (
            "video",
            "studio-local/video",
            {"prompt": "waves"},
            {"prompt": "waves", "duration": 99},
            "duration",
            "duration must be between 4 and 15",
            "Duration must be between 4 and 15",
        ),
        (
            "image",
            "studio-local/image",
            {"prompt": "a cat"},
            {"prompt": "a cat", "aspect_ratio": "7:1"},
            "aspect_ratio",
            "aspect_ratio must be one of: ",
            "Aspect ratio must be one of: ",
        ),
        (
            "image",
            "studio-local/image",
            {"prompt": "a cat"},
            {"prompt": "   "},
            "prompt",
            "Missing required field: prompt",
            "This field is required (Prompt).",
        ),
        (
            "video_from_image",
            "studio-local/video",
            {"image_url": "https://example.com/a.png"},
            {"prompt": "zoom"},
            "image_url",
            "Missing required field: image_url",
            "This field is required (Image URL).",
        ),
        (
            "image",
            "studio-local/image",
            {"prompt": "a cat"},
            {"prompt": "a cat", "count": 9},
            "count",
            "count must be between 1 and 4",
            "Count must be between 1 and 4",
        ),
    ],
)
def test_a_bad_value_refused_by_the_service_is_shown_on_its_field_in_the_forms_words(
    team, generation_type, identifier, form_data, raw, field, api_text, form_text
):
    model = AIModel.objects.get(identifier=identifier)
    exc = service_error(generation_type, model, raw)
    assert exc.message.startswith(api_text)  # the API says what it always said
    assert exc.field == field
    form = bound_form(team, generation_type, model, form_data)
    form.add_service_error(exc)
    assert form.errors[field][0].startswith(form_text)
    assert not form.non_field_errors()


def test_an_unknown_voice_is_shown_on_the_voice_picker(team):
    model = AIModel.objects.get(identifier="studio-local/speech")
    exc = service_error("speech", model, {"text": "hello", "voice": "nobody"})
    voice = Voice.objects.filter(provider=model.provider, enabled=True).first()
    form = bound_form(team, "speech", model, {"text": "hello", "voice": voice.voice_id})
    form.add_service_error(exc)
    assert form.errors["voice"][0].startswith("Unknown voice 'nobody'")
    assert "model" not in form.errors


def test_an_error_about_no_field_of_the_form_is_shown_above_it(team):
    model = AIModel.objects.get(identifier="studio-local/image")
    form = bound_form(team, "image", model, {"prompt": "a cat"})
    form.add_service_error(InsufficientCredits())
    assert form.non_field_errors() == ["Not enough credits for this generation"]


def test_a_private_image_url_is_refused_next_to_the_image_url_field(
    funded_team, alice_client, settings
):
    settings.STUDIO_ALLOW_PRIVATE_FETCH = False
    response = alice_client.post(
        reverse("studio", args=[funded_team.uuid]),
        {"type": "video_from_image", "image_url": "http://127.0.0.1/photo.png", "duration": "4"},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "private or reserved address" in str(form.errors["image_url"])
    assert not form.non_field_errors()
    assert not Generation.objects.exists()


def fill_storage(team) -> None:
    type(team).objects.filter(pk=team.pk).update(storage_used_bytes=team.plan.storage_limit_bytes)


def test_a_full_storage_says_so_with_a_link_to_free_up_space(funded_team, alice_client):
    fill_storage(funded_team)
    response = alice_client.post(
        reverse("studio", args=[funded_team.uuid]),
        {"type": "image", "prompt": "a cat", "count": "1"},
        **HTMX,
    )
    body = response.content.decode()
    assert response["HX-Retarget"] == "#studio-form"
    assert 'data-testid="form-error"' in body
    assert "storage is full" in body
    gallery = reverse("gallery", args=[funded_team.uuid])
    assert f'href="{gallery}">Free up space in the Gallery' in body
    assert "Add credits" not in body
    assert not Generation.objects.exists()


def test_a_rerun_refused_for_full_storage_points_to_the_gallery(funded_team, alice, alice_client):
    original = run(start(funded_team, alice, "image", {"prompt": "a red kite"}))
    fill_storage(funded_team)
    url = reverse("gallery_rerun", args=[funded_team.uuid, original.uuid])
    body = alice_client.post(url, follow=True).content.decode()
    assert "storage is full" in body
    assert "Free up space in the Gallery." in body
    assert "Credits page" not in body
    assert Generation.objects.count() == 1


def test_an_image_url_error_for_a_picked_image_is_shown_on_the_picker(team, alice):
    from studio.errors import InvalidFields

    picture = run(start(team, alice, "image", {"prompt": "a red kite"})).assets.get()
    model = AIModel.objects.get(identifier="studio-local/video")
    form = StudioForm(
        {"type": "video_from_image", "model": model.identifier, "source": str(picture.uuid)},
        generation_type="video_from_image",
        models=models_for("video_from_image", team),
        model=model,
        sources=[picture],
    )
    assert form.is_valid(), form.errors
    assert form.raw_request()["image_url"]  # the picked image goes as a link of ours
    form.add_service_error(InvalidFields.about("image_url", "could not be read"))
    assert form.errors["source"] == ["Image URL could not be read"]
    assert "image_url" not in form.errors and not form.non_field_errors()

    typed = bound_form(team, "video_from_image", model, {"image_url": "https://example.com/a.png"})
    typed.add_service_error(InvalidFields.about("image_url", "could not be read"))
    assert typed.errors["image_url"] == ["Image URL could not be read"]

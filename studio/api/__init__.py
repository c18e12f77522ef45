"""The public API root: authentication, envelopes, rate limits (see root.py for the NinjaAPI).

What endpoint authors use:

    from studio.api.auth import api_key, caller_key, caller_team, caller_dialect
    from studio.api.ratelimit import RateClass
    from studio.api.schemas import kolbo, krev, krev_list, with_errors, errors

    @router.post("/generate/image", auth=api_key("images", limit=RateClass.GENERATION),
                 response=with_errors(ImageStartOut))
    def generate_image(request, payload: ImageIn): ...
"""

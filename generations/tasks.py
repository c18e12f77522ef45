"""Cluster entry points: thin, they take ids and call the engine."""

from generations import dispatch, engine


def submit_generation(generation_id: int) -> None:
    engine.submit(generation_id)


def collect_generation(generation_id: int) -> None:
    engine.collect(generation_id)


def cancel_upstream(generation_id: int) -> None:
    from generations.models import Generation
    from generations.providers.base import get_adapter

    generation = Generation.objects.select_related("team", "model").filter(pk=generation_id).first()
    if generation is None or not generation.upstream_handle:
        return
    try:
        get_adapter(generation.provider).cancel(engine.job_for(generation))
    except Exception:  # best-effort: the job is already cancelled and refunded here
        import logging

        logging.getLogger(__name__).warning("upstream cancel of %s failed", generation.uuid)


def run_dispatcher() -> int:
    return dispatch.run_dispatcher()


def sweep() -> dict[str, int]:
    return dispatch.sweep()

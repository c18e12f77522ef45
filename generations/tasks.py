"""Cluster entry points: thin, they take ids and call the engine."""

from generations import dispatch, engine


def submit_generation(generation_id: int) -> None:
    engine.submit(generation_id)


def collect_generation(generation_id: int) -> None:
    engine.collect(generation_id)


def cancel_upstream(generation_id: int) -> None:
    engine.cancel_upstream(generation_id)


def run_dispatcher() -> int:
    return dispatch.run_dispatcher()


def sweep() -> dict[str, int]:
    return dispatch.sweep()


def advance_agent_run(run_id: int) -> None:
    from generations.agent import services

    services.advance(run_id)

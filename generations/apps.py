from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = "Generations"

    def ready(self) -> None:
        from generations import inputs
        from generations.providers.base import UpstreamCredential, get_adapter
        from studio import inputs as image_sources
        from studio import media, upstream

        def check_credential(credential: UpstreamCredential) -> None:
            get_adapter(credential.provider).check_credential(credential)

        # The vault's connection test runs the provider's own cheap authenticated call.
        upstream.register_credential_check(check_credential)
        # Result links (`/m/…`, `studio-asset:`) given as an image source read the team's file.
        image_sources.register_owner(media.ASSET_LINKS, inputs.read_own_link)

        from generations.health import dispatcher_lease
        from generations.metrics import job_counts
        from studio import health, metrics

        # /healthz turns 503 when no cluster has renewed the dispatcher's lease lately.
        health.register("dispatcher", dispatcher_lease)
        # /metrics reads jobs by state and type when it is scraped.
        metrics.register_job_counts(job_counts)

        from generations.assets import bytes_per_team
        from studio.accounts import storage_quota

        # manage.py reconcile_storage counts the bytes the team's assets hold.
        storage_quota.register_holder("assets", bytes_per_team)

        from generations.notices import finished_jobs
        from studio.accounts import notices

        # The credit badge's poll tells a browser when the jobs it started have finished.
        notices.register(finished_jobs)

        from generations.usage import usage_by_api_key
        from studio.accounts import usage

        # The Credits page's per-key table: generations know which key started a job.
        usage.register(usage_by_api_key)

        from generations import cluster

        # django-q2's cluster stops within seconds of SIGTERM and starts the dispatcher and
        # the sweeper at once (see generations/cluster.py).
        cluster.install()

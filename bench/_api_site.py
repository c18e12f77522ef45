"""Settings for bench/api_credits.py: Studio's, with URLs that add one bare Django view."""

from studio.settings import *  # noqa: F403

ROOT_URLCONF = "_api_urls"

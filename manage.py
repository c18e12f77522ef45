#!/usr/bin/env python
import os
import sys
from pathlib import Path


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    from studio.env import load_env_file

    # The settings `make run` started with (STUDIO_DEBUG=1…), so commands work beside it.
    load_env_file(os.environ.get("STUDIO_ENV_FILE") or Path(__file__).with_name(".env.local"))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

"""Cluster entry points for accounts: thin, they call services."""

from studio.accounts import credits


def reset_due_plans() -> int:
    return credits.reset_due_plans()

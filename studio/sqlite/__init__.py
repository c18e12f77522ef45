"""SQLite with connections kept per process for reuse (settings.DATABASES' ENGINE for SQLite)."""

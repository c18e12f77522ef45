"""Agent runs: Krev's async chat (POST /api/v1/chat with a Bearer key)."""

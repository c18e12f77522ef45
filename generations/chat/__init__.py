"""Chat: conversations and messages on top of the engine (a message is a `chat` Generation).

Rooms: `models.py` (conversations, messages), `tokens.py` (token estimates, context-window
trimming, token prices), `services.py` (the use cases: start a message, list and edit
conversations, settle a finished answer), `presenters.py` (Kolbo's shapes), `api.py`
(Kolbo's chat endpoints), `stream.py` (OpenAI-compatible streaming chat completions).
"""

"""Import every adapter once so `get_adapter` can find it."""

from generations.providers.base import register
from generations.providers.fal import FalAdapter
from generations.providers.kolbo import KolboAdapter
from generations.providers.krev import KrevAdapter
from generations.providers.local.provider import LocalEngine
from generations.providers.openai_compat import OpenAICompatAdapter
from generations.providers.replicate import ReplicateAdapter

register(LocalEngine())
register(FalAdapter())
register(OpenAICompatAdapter())
register(ReplicateAdapter())
register(KolboAdapter())
register(KrevAdapter())

"""Import every adapter once so `get_adapter` can find it."""

from generations.providers.base import register
from generations.providers.local.provider import LocalEngine

register(LocalEngine())

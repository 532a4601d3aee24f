"""Django's Redis cache, with its redis-py client kept.

Django's ``RedisCache`` makes a new redis-py client for every operation,
over a connection pool it keeps; redis-py 8 builds a client's table of
response callbacks (a few hundred entries) each time. On a local Redis that
was about 40% of a cache read: every API call pays one (the failed-token
lockout, helpdesk/api/throttling.py), every console page its session. A
client over a pool is safe to share, so one is kept per pool. Everything
else is Django's.
"""

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangosRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _KeptClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[Any, Any] = {}  # by the pool they are over

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django: Any = self  # Django's private parts, which its stubs leave out
        # Django's choice of server (a replica at random for a read) and its pool.
        pool = django._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients.setdefault(pool, django._client(connection_pool=pool))
        return client


class RedisCache(DjangosRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _KeptClient

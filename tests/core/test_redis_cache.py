"""Django's Redis cache with its client kept (core.redis_cache): one client
a pool, every operation as Django's, on the real Redis."""

from typing import Any

import pytest
from django.core.cache import caches
from redis.exceptions import ConnectionError as RedisConnectionError

from core.redis_cache import RedisCache


@pytest.fixture
def cache() -> RedisCache:
    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    cache.clear()
    return cache


def test_every_operation_goes_through_one_kept_client(cache: RedisCache) -> None:
    client = cache._cache.get_client()

    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client("any key") is client


def test_the_operations_are_djangos(cache: RedisCache) -> None:
    cache.set("plain", {"amount": "5.00", "list": [1, 2]}, timeout=60)
    assert cache.get("plain") == {"amount": "5.00", "list": [1, 2]}
    assert cache.add("plain", "other") is False
    assert cache.add("fresh", 1) is True
    assert cache.incr("fresh", 4) == 5
    cache.set_many({"a": 1, "b": 2})
    assert cache.get_many(["a", "b", "missing"]) == {"a": 1, "b": 2}
    assert cache.delete("a") is True
    assert cache.get("a", "gone") == "gone"
    assert cache.touch("b", 30) is True
    assert 0 < cache._cache.get_client().ttl(cache.make_and_validate_key("b")) <= 30


def test_a_redis_that_is_down_fails_each_operation() -> None:
    down = RedisCache(
        "redis://127.0.0.1:1/0",  # nothing listens on port 1
        {"OPTIONS": {"socket_connect_timeout": 0.5}},
    )

    for _ in range(2):  # the kept client does not keep the failure
        with pytest.raises(RedisConnectionError):
            down.get("anything")


def test_with_replicas_each_server_keeps_a_client_of_its_own_pool(settings: object) -> None:
    location = caches["default"]._servers[0]  # type: ignore[attr-defined]
    replicated = RedisCache(";".join([location] * 3), {})

    for _ in range(40):  # reads go to the replicas at random
        replicated.get("anything")
    replicated.set("anything", 1)

    client: Any = replicated._cache  # the kept client's private parts
    assert set(client._clients) == set(client._pools.values())
    assert len(client._clients) == 3
    for pool, kept in client._clients.items():
        assert kept.connection_pool is pool

"""Redis and the caches: Redis when ``REDIS_URL`` is set, files under
``var/`` otherwise; sessions; the health probe's limits."""

from helpdesk.settings.environment import VAR_DIR, env

REDIS_URL = env("REDIS_URL", default="")

# Every socket to Redis has a timeout: without one, a Redis that hangs
# without closing its connections (frozen, paused VM, failover behind a NAT)
# holds the caller forever. A healthy Redis answers in milliseconds; these
# leave room for a loaded one while bounding what a hang costs a request (the
# throttles then let it through, see helpdesk/api/throttling.py).
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=2)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=3)
# /healthz must answer within two seconds whatever its dependencies do, so it
# spends at most this long in all (checks run side by side, one not done by
# then is "timeout") and each of its own sockets to Redis, the broker and
# PostgreSQL waits at most HELPDESK_HEALTH_SOCKET_TIMEOUT (helpdesk/health.py).
HELPDESK_HEALTH_TIMEOUT = env.float("HELPDESK_HEALTH_TIMEOUT", default=1.5)
HELPDESK_HEALTH_SOCKET_TIMEOUT = 1.0

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="helpdesk"),
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    # A file cache is shared by the web process and the worker, unlike locmem.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
# Throttle counts (helpdesk/api/throttling.py) in a cache of their own, so the
# tests can keep them apart; the same store as the default here.
CACHES["throttle"] = {**CACHES["default"]}
if REDIS_URL:
    CACHES["throttle"]["KEY_PREFIX"] = CACHES["default"]["KEY_PREFIX"] + "-throttle"
else:
    CACHES["throttle"]["LOCATION"] = str(VAR_DIR / "cache-throttle")
# The same store as the default, for /healthz alone: it reads the worker's
# heartbeat with the probe's short timeouts, not the application's.
CACHES["health"] = {**CACHES["default"]}
if REDIS_URL:
    CACHES["health"]["OPTIONS"] = {
        "socket_connect_timeout": HELPDESK_HEALTH_SOCKET_TIMEOUT,
        "socket_timeout": HELPDESK_HEALTH_SOCKET_TIMEOUT,
    }

# Sessions read from the cache and written through to the database: a
# console page does not query the database for its session, and a cache
# flush signs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

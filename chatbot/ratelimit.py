"""Rate limits: counters in the `ratelimit` cache (Redis when REDIS_URL is set, so every process shares them).

One counting rule serves the REST API (`ClientRateThrottle`, every DRF view's throttle by settings) and the chat
sockets (`conversations.limits`): a window opens at a client's first request and lasts the rate's period; the
requests in it beyond the limit are refused until it ends. The counter is one atomic increment, so a burst of
concurrent requests lets exactly `limit` through. In Redis a request is one round trip (a Lua script); in process
memory (no REDIS_URL) it is the cache API's add and increment.
"""

import hashlib
import logging
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.redis import RedisCache
from redis.commands.core import Script
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

logger = logging.getLogger(__name__)

# The window's counter, created with the window's expiry by the request that opens it: the window ends when its key
# does. A key left without an expiry (none should be) gets one, so no counter outlives its window. Returns the count
# and the milliseconds left. The script as bytes: its digest needs no client, and each call names its client.
_WINDOW_HIT = Script(None, b"""
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
    left = tonumber(ARGV[1])
    redis.call('PEXPIRE', KEYS[1], left)
end
return {count, left}
""")


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds


def rate_parse(value: str | None) -> Rate | None:
    """"120/minute", "5/10s", DRF's "1000/day"; None for a rate that is off ("", "off", "none")."""
    if value is None or value.strip().lower() in ("", "off", "none"):
        return None
    match = _RATE.match(value.lower())
    if match is None:
        raise ValueError(f"rate {value!r}: expected <number>/<period>, e.g. 120/minute or 5/10s")
    limit, multiple, unit = match.groups()
    return Rate(limit=int(limit), period=int(multiple or 1) * _SECONDS[unit])


def rate_hit(*, scope: str, ident: str, rate: Rate | None) -> int | None:
    """Count one request of `ident` under `scope`: None when allowed, else the whole seconds until it would be.

    Blocking (a cache round trip): async callers run it in a thread (`conversations.limits`).
    """
    if rate is None:
        return None
    cache, base = caches["ratelimit"], f"rl:{scope}:{ident}"
    try:
        count, left_s = (_redis_hit if isinstance(cache, RedisCache) else _memory_hit)(cache, base, rate)
    except (RedisError, OSError) as error:
        # Fail open: with Redis unreachable a limit cannot be counted, and refusing every message would turn a
        # Redis outage into a chat outage (messages are stored in PostgreSQL and answered once Redis is back).
        logger.warning("rate limit %s not counted, Redis unreachable: %s", scope, error)
        return None
    return None if count <= rate.limit else max(1, math.ceil(left_s))


def _redis_hit(cache: RedisCache, base: str, rate: Rate) -> tuple[int, float]:
    key = cache.make_and_validate_key(base)
    # Django's RedisCache has no public accessor for its client; this one draws on the cache's connection pool.
    count, left_ms = _WINDOW_HIT(keys=[key], args=[rate.period * 1000], client=cache._cache.get_client(key, write=True))
    return count, left_ms / 1000


def _memory_hit(cache: BaseCache, base: str, rate: Rate) -> tuple[int, float]:
    """Process memory has no increment-with-expiry: the window's end is stored once (`add` is atomic) and names
    the counter, so a new window starts at zero."""
    now = time.time()
    ends = cache.get_or_set(f"{base}:ends", lambda: now + rate.period, timeout=rate.period)
    counter = f"{base}:{ends:.3f}"
    cache.add(counter, 0, timeout=rate.period + 1)
    try:
        return cache.incr(counter), ends - now
    except ValueError:  # the window ended between the two calls: this request opens nothing and is let through
        return 0, 0.0


def client_ip(*, peer: str | None, forwarded: str | None) -> str:
    """The client's address: the peer's, or, when CHARLA_TRUSTED_PROXY_HEADER names the header a trusted proxy
    sets, the address CHARLA_TRUSTED_PROXY_COUNT hops from its right end (what the nearest proxy saw). The
    header is ignored when not configured: a client could write any address into it."""
    if settings.CHARLA_TRUSTED_PROXY_HEADER and forwarded:
        hops = [part.strip() for part in forwarded.split(",") if part.strip()]
        if hops:
            return hops[-min(settings.CHARLA_TRUSTED_PROXY_COUNT, len(hops))]
    return peer or "unknown"


def scope_client_ip(scope: dict) -> str:
    """`client_ip` of an ASGI connection (a chat socket)."""
    wanted = settings.CHARLA_TRUSTED_PROXY_HEADER.lower().encode("latin-1")
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", [])
    forwarded = next((value.decode("latin-1") for name, value in headers if name == wanted), None)
    return client_ip(peer=(scope.get("client") or [None])[0], forwarded=forwarded)


class ClientRateThrottle(BaseThrottle):
    """Every API view's throttle: one budget per API key (or DRF token), else per user, else per client IP.

    Rates are `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]` "key", "user" and "anon". A refused request gets DRF's
    429 with a JSON body and `Retry-After`.
    """

    def allow_request(self, request: Request, view) -> bool:
        scope, ident = self._identity(request)
        rate = rate_parse(api_settings.DEFAULT_THROTTLE_RATES.get(scope))
        self._wait = rate_hit(scope=f"api.{scope}", ident=ident, rate=rate)
        return self._wait is None

    def wait(self) -> int | None:
        return self._wait

    @staticmethod
    def _identity(request: Request) -> tuple[str, str]:
        key = getattr(request.auth, "pk", None)
        if key is not None:
            # Hashed: a DRF token's pk is the secret itself, which has no business in Redis's key space.
            return "key", hashlib.sha256(f"{type(request.auth).__name__}:{key}".encode()).hexdigest()[:32]
        if request.user is not None and request.user.is_authenticated:
            return "user", str(request.user.pk)
        forwarded = request.META.get("HTTP_" + settings.CHARLA_TRUSTED_PROXY_HEADER.upper().replace("-", "_"))
        return "anon", client_ip(peer=request.META.get("REMOTE_ADDR"), forwarded=forwarded)

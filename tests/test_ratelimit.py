"""REST rate limits: the throttle every API view gets from settings, counted in Redis (chatbot.ratelimit).

The same limits through a live daphne, and the chat sockets' limits, are tested in tests/test_end_to_end.py.
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.conf import settings as django_settings
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from chatbot.ratelimit import Rate, rate_hit, rate_parse

pytestmark = pytest.mark.django_db

MEMORY = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ratelimit-test"}
needs_redis = pytest.mark.skipif(not django_settings.REDIS_URL, reason="counts in Redis")


@pytest.fixture
def low_rates(settings):
    rates = {"key": "3/minute", "user": "3/minute", "anon": "2/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def staff_token(django_user_model) -> str:
    user = django_user_model.objects.create_user(f"staff-{uuid.uuid4().hex[:8]}", is_staff=True)
    return Token.objects.create(user=user).key


def delete_visitor(token: str):
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    return client.delete(f"/api/visitors/{uuid.uuid4()}/")


def test_a_flooding_key_gets_429_with_json_and_retry_after_and_other_keys_are_unaffected(
    low_rates, django_user_model
):
    """Three requests per key a minute: the fourth of key A is refused (429, JSON, Retry-After); key B is served."""
    key_a, key_b = staff_token(django_user_model), staff_token(django_user_model)
    assert [delete_visitor(key_a).status_code for _ in range(3)] == [404, 404, 404]
    refused = delete_visitor(key_a)
    assert refused.status_code == 429 and refused["Content-Type"] == "application/json"
    assert "throttled" in refused.json()["message"] and refused.json()["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert delete_visitor(key_b).status_code == 404
    if django_settings.REDIS_URL:  # the counters every process shares, not this process's memory
        assert redis.Redis.from_url(django_settings.REDIS_URL).keys("charla:*rl:api.key:*")


class Ping(APIView):
    """A public API view, as other apps add them: it gets the throttle without naming one."""

    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"ok": True})


def ping(address: str, forwarded: str | None = None) -> int:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return Ping.as_view()(APIRequestFactory().get("/ping", REMOTE_ADDR=address, **extra)).status_code


def test_anonymous_clients_are_counted_per_address_and_a_proxy_header_only_when_configured(low_rates, settings):
    """Without CHARLA_TRUSTED_PROXY_HEADER a forged X-Forwarded-For changes nothing; with it, each client behind
    the proxy has its own budget."""
    peer = f"192.0.2.{uuid.uuid4().int % 250}"
    assert [ping(peer, forwarded=f"198.51.100.{n}") for n in range(3)] == [200, 200, 429]

    settings.CHARLA_TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    n = uuid.uuid4().int % 250
    proxy, client, neighbour = f"10.9.{n}.1", f"203.0.113.{n}", f"198.18.0.{n}"
    # The proxy appends the address it saw: the right-most entry; what the client wrote before it is ignored.
    assert [ping(proxy, forwarded=f"6.6.6.{i}, {client}") for i in range(3)] == [200, 200, 429]
    assert ping(proxy, forwarded=neighbour) == 200


@pytest.mark.parametrize(
    "value, rate",
    [("120/minute", Rate(120, 60)), ("5/10s", Rate(5, 10)), ("1000/day", Rate(1000, 86400)), ("off", None), ("", None)],
)
def test_rates_are_read_as_drf_writes_them_plus_multiples(value, rate):
    """DRF's "N/period" format, a period multiple ("5/10s"), and "off"."""
    assert rate_parse(value) == rate


@pytest.fixture(params=["redis", "memory"])
def counters(request, settings):
    """The `ratelimit` cache in Redis (as configured) and in process memory (no REDIS_URL)."""
    if request.param == "redis" and not settings.REDIS_URL:
        pytest.skip("counts in Redis")
    if request.param == "memory":
        settings.CACHES = {**settings.CACHES, "ratelimit": MEMORY}
    return request.param


def test_a_concurrent_burst_lets_exactly_the_limit_through_until_the_window_ends(counters):
    """Twenty requests at once, five allowed a second: five pass, the rest wait 1 s; after it, a new window."""
    ident, rate = uuid.uuid4().hex, Rate(limit=5, period=1)
    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(lambda _: rate_hit(scope="test", ident=ident, rate=rate), range(20)))
    assert waits.count(None) == 5 and waits.count(1) == 15
    time.sleep(1.05)
    assert [rate_hit(scope="test", ident=ident, rate=rate) for _ in range(6)] == [None] * 5 + [1]


@needs_redis
def test_a_request_is_one_redis_round_trip_and_its_window_one_expiring_key():
    """What Redis receives per request, watched with MONITOR: one command; the window is one key that expires
    with it (no counter outlives its window)."""
    ident, rate = uuid.uuid4().hex, Rate(limit=3, period=60)
    rate_hit(scope="test", ident=ident, rate=rate)  # loads the script into Redis once
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    with client.monitor() as monitor:
        for _ in range(4):
            rate_hit(scope="test", ident=ident, rate=rate)
        client.echo(f"done-{ident}")
        sent = []
        for command in monitor.listen():
            if f"done-{ident}" in command["command"]:
                break
            if ident in command["command"] and command["client_type"] != "lua":
                sent.append(command["command"].split()[0])
    assert sent == ["EVALSHA"] * 4
    [key] = client.keys(f"charla:*rl:test:{ident}*")
    assert 59_000 < client.pttl(key) <= 60_000 and int(client.get(key)) == 5


def test_with_redis_unreachable_the_limit_fails_open(settings, caplog):
    """No Redis, no count: every request is let through and a warning says so."""
    unreachable = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    settings.CACHES = {**settings.CACHES, "ratelimit": unreachable}
    assert [rate_hit(scope="test", ident="x", rate=Rate(limit=1, period=60)) for _ in range(3)] == [None] * 3
    assert "rate limit test not counted, Redis unreachable" in caplog.text

"""DRF authentication with a bot's API key: `Authorization: Bearer <key>`, `Token <key>`, or Rasa's `?token=<key>`."""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from .models import ApiKey
from .services import api_key_check
from .services.api_keys import KEY_PREFIX


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticates a request carrying a bot's API key; `request.auth` is the ApiKey, `request.user` anonymous.

    A `Token` header that is not an API key (no "ck_" prefix) is left to DRF's TokenAuthentication (staff tokens).
    A wrong, malformed or revoked key is refused (401), never ignored: a client with a typo must hear about it.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiKey] | None:
        raw = self._raw_key(request)
        if raw is None:
            return None
        key = api_key_check(raw=raw)
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown API key.", code="invalid_api_key")
        if key.revoked:
            raise exceptions.AuthenticationFailed("This API key was revoked.", code="revoked_api_key")
        return AnonymousUser(), key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'

    def _raw_key(self, request: Request) -> str | None:
        header = get_authorization_header(request).split()
        if header:
            scheme = header[0].lower()
            if scheme not in (b"bearer", b"token"):
                return None
            if len(header) != 2:
                raise exceptions.AuthenticationFailed(
                    "Malformed Authorization header: expected `Bearer <key>`.", code="invalid_api_key"
                )
            raw = header[1].decode("latin-1")
            if scheme == b"token" and not raw.startswith(KEY_PREFIX):
                return None  # a staff token, DRF's TokenAuthentication's to check
            return raw
        token = request.query_params.get("token")
        return token or None


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How /api/docs/ describes API keys."""

    target_class = "intents.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http", "scheme": "bearer",
            "description": "A bot's API key (created in the admin): `Authorization: Bearer ck_…` (or `Token ck_…`), "
            "or Rasa's `?token=ck_…`.",
        }  # fmt: skip

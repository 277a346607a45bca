"""Start-up guard: a server process does not run with the public development secret key.

The key signs sessions and visitor tokens; with the key everyone can read in this repository, anyone could
forge a visitor's token and read their conversation. Settings cannot refuse by themselves, because the test
runner imports them before any configuration could be given, so each server entry point calls
`secret_key_require()` first: daphne (`chatbot.asgi`), WSGI servers (`chatbot.wsgi`), the serving management
commands (`manage.py`, SERVER_COMMANDS) and Celery workers and beat (`chatbot.celery`). One-off commands
(`migrate`, `createsuperuser`, `train_intents`, `check`…) sign nothing and run without a key.
"""

DEVELOPMENT_SECRET_KEY = "charla-insecure-development-key-change-me"

# Management commands that serve requests or answer messages until stopped.
SERVER_COMMANDS = frozenset({"runserver", "answer_worker"})

REFUSAL = (
    "Charla refuses to start: DJANGO_SECRET_KEY is not set and DJANGO_DEBUG is false. The key signs sessions "
    "and visitor tokens, and the development default is public. Set DJANGO_SECRET_KEY to a long random value, "
    "e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe(50))'`, the same in every "
    "process of a deployment. On a development machine set CHARLA_DEV=1 instead (make run and make test do)."
)


def secret_key_require() -> None:
    """Exit with REFUSAL unless a secret key was configured, or this is development (DEBUG or CHARLA_DEV)."""
    from django.conf import settings

    if settings.SECRET_KEY == DEVELOPMENT_SECRET_KEY and not (settings.DEBUG or settings.CHARLA_DEV):
        raise SystemExit(REFUSAL)

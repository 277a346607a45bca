"""Charla settings: every value comes from the environment, with defaults that run on a bare machine."""

import warnings
from pathlib import Path

import environ
import redis.connection
from celery.schedules import crontab

from chatbot.hardening import DEVELOPMENT_SECRET_KEY

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Development mode: only lets server processes start with the public development key (chatbot/hardening.py).
CHARLA_DEV = env.bool("CHARLA_DEV", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "intents",
    "conversations",
]

MIDDLEWARE = [
    # First, so that responses WhiteNoise and the admin produce are unframeable too.
    "conversations.framing.FrameDenyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Only /embed/<bot>/ may be framed (conversations.framing); everything else refuses, old browsers included.
X_FRAME_OPTIONS = "DENY"

ROOT_URLCONF = "chatbot.urls"
ASGI_APPLICATION = "chatbot.asgi.application"
WSGI_APPLICATION = "chatbot.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Reuse connections: with 0, every consumer call and every task opens a new PostgreSQL connection (milliseconds each).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "chatbot.postgres"  # the same backend, with a health check that costs no query
DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Redis pub/sub: an answer is one PUBLISH to its conversation's group, and each daphne process keeps its
    # sockets' subscriptions and queues in memory. Nothing about a conversation is stored in Redis, and nothing
    # is dropped for a busy process (the list-based layer silently drops beyond its capacity). At 200+ turns/s it
    # kept p99 under half the list-based layer's (docs/performance.md). A socket that is down misses the push
    # and catches up with `resume`, as it always did. Pub/sub ignores the database number, so the default
    # prefix carries it: deployments on different databases of one Redis server do not hear each other.
    _redis_db = redis.connection.parse_url(REDIS_URL).get("db", 0)
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env.str("CHANNELS_PREFIX", default=f"charla.db{_redis_db}")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery runs the periodic jobs, training and batch prediction jobs (answers are answer_worker's, not tasks); with
# no broker configured, tasks run in-process (the embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    # Training takes minutes: its own queue and worker, so answers never wait behind it.
    "intents.tasks.training_job_run": {"queue": "training"},
}
# A task whose worker dies is redelivered after this many seconds (Redis visibility timeout).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300)}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Chat behaviour.
CHARLA_MAX_MESSAGE_CHARS = env.int("CHARLA_MAX_MESSAGE_CHARS", default=2000)
CHARLA_ALLOWED_ORIGINS = env.list(
    "CHARLA_ALLOWED_ORIGINS",
    default=["http://127.0.0.1:8000", "http://localhost:8000"],
)
CHARLA_MODEL_DIR = Path(env.str("CHARLA_MODEL_DIR", default=str(BASE_DIR / "var" / "models")))
# Each host's copies of the model versions it serves, downloaded from STORAGES["models"] (docs/deployment.md).
CHARLA_MODEL_CACHE_DIR = Path(env.str("CHARLA_MODEL_CACHE_DIR", default=str(BASE_DIR / "var" / "model-cache")))
CHARLA_ENCODER_PATH = env.str("CHARLA_ENCODER_PATH", default="")
CHARLA_TORCH_THREADS = env.int("CHARLA_TORCH_THREADS", default=1)
# Encoder runtime of the workers: torch, onnx or onnx-int8 (exported once into CHARLA_MODEL_DIR/.encoders).
CHARLA_INFERENCE_BACKEND = env.str("CHARLA_INFERENCE_BACKEND", default="torch")
# Answer workers (`manage.py answer_worker`, docs/performance.md): the most messages one forward pass classifies,
# how long to wait for a batch to fill, and when to take over entries a dead worker left unacknowledged.
CHARLA_INFERENCE_BATCH_SIZE = env.int("CHARLA_INFERENCE_BATCH_SIZE", default=32)
CHARLA_INFERENCE_BATCH_WAIT_MS = env.int("CHARLA_INFERENCE_BATCH_WAIT_MS", default=0)
CHARLA_INFERENCE_CLAIM_IDLE = env.int("CHARLA_INFERENCE_CLAIM_IDLE", default=30)
# Load shedding (docs/protocol.md: busy): a user message is refused, not stored, while a message queued now would
# wait longer than this for an answer worker; 0 turns shedding off.
CHARLA_BUSY_QUEUE_AGE_MS = env.int("CHARLA_BUSY_QUEUE_AGE_MS", default=1000)
CHARLA_VISITOR_TOKEN_MAX_AGE = env.int("CHARLA_VISITOR_TOKEN_MAX_AGE", default=60 * 60 * 24 * 365)

# Conversation lifecycle (issue 3): sessions, retention, the safety net for lost tasks, fault injection.
CHARLA_SESSION_IDLE_MINUTES = env.int("CHARLA_SESSION_IDLE_MINUTES", default=30)
CHARLA_RETENTION_DAYS = env.int("CHARLA_RETENTION_DAYS", default=90)
CHARLA_PENDING_REQUEUE_SECONDS = env.int("CHARLA_PENDING_REQUEUE_SECONDS", default=120)
CHARLA_TRAINING_HEARTBEAT_SECONDS = env.float("CHARLA_TRAINING_HEARTBEAT_SECONDS", default=15.0)
CHARLA_TRAINING_STALE_SECONDS = env.int("CHARLA_TRAINING_STALE_SECONDS", default=120)
CHARLA_ANSWER_SYNCHRONOUS_COMMIT = env.bool("CHARLA_ANSWER_SYNCHRONOUS_COMMIT", default=False)
# "min,max" milliseconds of random pause before each inference, for fault tests; empty (off) in production.
CHARLA_FAULT_INFERENCE_DELAY_MS = env.str("CHARLA_FAULT_INFERENCE_DELAY_MS", default="")
# Actions (docs/actions.md): where `load_demo_bot` points the demo bot's actions, and the secret the demo
# endpoint (/demo/actions/) verifies; empty: derived from DJANGO_SECRET_KEY. An empty URL turns the demo's action off.
CHARLA_DEMO_ACTION_URL = env.str("CHARLA_DEMO_ACTION_URL", default="http://127.0.0.1:8000/demo/actions/")
CHARLA_DEMO_ACTION_SECRET = env.str("CHARLA_DEMO_ACTION_SECRET", default="")

# A text containing this makes the classifier raise, for the fault suite (tests/faults/); empty (off) in production.
CHARLA_FAULT_POISON_TEXT = env.str("CHARLA_FAULT_POISON_TEXT", default="")
# How often beat queues again messages pending longer than CHARLA_PENDING_REQUEUE_SECONDS.
CHARLA_PENDING_REQUEUE_SWEEP_SECONDS = env.float("CHARLA_PENDING_REQUEUE_SWEEP_SECONDS", default=30.0)
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-messages": {
        "task": "conversations.tasks.messages_requeue_stale",
        "schedule": CHARLA_PENDING_REQUEUE_SWEEP_SECONDS,
    },
    "fail-stale-training-jobs": {"task": "intents.tasks.training_jobs_fail_stale", "schedule": 60.0},
    "close-idle-conversations": {"task": "conversations.tasks.conversations_close_idle", "schedule": 300.0},
    "purge-expired-transcripts": {
        "task": "conversations.tasks.conversations_purge_expired",
        "schedule": crontab(hour=3, minute=17),
    },
}
# Nightly retraining of the bots that opted in (Bot.retrain_nightly), at this hour and minute (TIME_ZONE).
CHARLA_RETRAIN_AT = env.str("CHARLA_RETRAIN_AT", default="02:30")
CELERY_BEAT_SCHEDULE["retrain-changed-bots"] = {
    "task": "intents.tasks.bots_retrain_changed",
    "schedule": crontab(hour=CHARLA_RETRAIN_AT.split(":")[0], minute=CHARLA_RETRAIN_AT.split(":")[1]),
}

# Model storage (issue 13): trained artifacts are uploaded to STORAGES["models"] and downloaded by each worker into
# CHARLA_MODEL_CACHE_DIR. "filesystem" keeps them under CHARLA_MODEL_DIR (one host, or a shared volume); "s3" puts
# them in an S3-compatible bucket, so hosts share no disk. Credentials: boto3's own AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY (or an instance role), read by boto3 from the environment, never stored in settings.
CHARLA_MODEL_STORAGE = env.str("CHARLA_MODEL_STORAGE", default="filesystem")
if CHARLA_MODEL_STORAGE == "s3":
    _model_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("CHARLA_MODEL_S3_BUCKET"),
            "location": env.str("CHARLA_MODEL_S3_PREFIX", default="models"),
            "endpoint_url": env.str("CHARLA_MODEL_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("CHARLA_MODEL_S3_REGION", default="") or None,
            "addressing_style": env.str("CHARLA_MODEL_S3_ADDRESSING_STYLE", default="") or None,
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": True,
        },
    }
elif CHARLA_MODEL_STORAGE == "filesystem":
    # allow_overwrite: re-uploading a version whose earlier upload failed must replace its files, not rename them.
    _model_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(CHARLA_MODEL_DIR), "allow_overwrite": True},
    }
else:
    raise environ.ImproperlyConfigured(f"CHARLA_MODEL_STORAGE={CHARLA_MODEL_STORAGE!r}: use filesystem or s3.")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "models": _model_storage,
}

# Rate limits (README: Rate limits). Counters live in the "ratelimit" cache: Redis when REDIS_URL is set, so all
# processes share them; process memory otherwise (each process then counts on its own). A rate is "N/period"
# (120/minute, 5/10s); "off" disables it. The chat's are per visitor (messages) and per client IP (new visitors).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "charla"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ratelimit"}
    ),
}
CHARLA_RATE_CHAT_MESSAGES = env.str("CHARLA_RATE_CHAT_MESSAGES", default="120/minute")
CHARLA_RATE_CHAT_VISITORS = env.str("CHARLA_RATE_CHAT_VISITORS", default="300/minute")
# The header a trusted reverse proxy sets to the client's address (e.g. X-Forwarded-For); empty: the peer address.
CHARLA_TRUSTED_PROXY_HEADER = env.str("CHARLA_TRUSTED_PROXY_HEADER", default="")
# How many trusted proxies append to that header: the client is that many entries from its right end.
CHARLA_TRUSTED_PROXY_COUNT = env.int("CHARLA_TRUSTED_PROXY_COUNT", default=1)

# The REST API (/api/): staff only, by session or token; OpenAPI schema at /api/schema/.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Per-bot API keys (Bearer/Token "ck_…" or Rasa's ?token=) first: a "Token" that is no API key falls through.
        "intents.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every API view, whoever writes it, is throttled (chatbot.ratelimit): per API key, else user, else client IP.
    "DEFAULT_THROTTLE_CLASSES": ["chatbot.ratelimit.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "key": env.str("CHARLA_RATE_API_KEY", default="1200/minute"),
        "user": env.str("CHARLA_RATE_API_USER", default="1200/minute"),
        "anon": env.str("CHARLA_RATE_API_ANON", default="120/minute"),
    },
    "EXCEPTION_HANDLER": "chatbot.api_errors.api_exception_handler",
}
# Integration API (docs/api.md): how long POST /webhooks/rest/webhook waits for the answer before a 504 (the
# message stays stored and is answered), and how long a stateless turn's signed state stays valid.
CHARLA_REST_REPLY_TIMEOUT = env.float("CHARLA_REST_REPLY_TIMEOUT", default=10.0)
CHARLA_TURN_STATE_MAX_AGE = env.int("CHARLA_TURN_STATE_MAX_AGE", default=24 * 60 * 60)
SPECTACULAR_SETTINGS = {
    "TITLE": "Charla API",
    "DESCRIPTION": "Charla's API: the Rasa-compatible REST channel, NLU parse, stateless turns, staff operations. "
    "Authenticate with a bot's API key (`Authorization: Bearer ck_…`, or `?token=ck_…`) or a staff token/session.",
    "VERSION": "1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAdminUser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The widget is also published as /static/chatbot/widget.js, the URL sites put in their script tag.
STATICFILES_DIRS = [BASE_DIR / "static", ("chatbot", BASE_DIR / "static" / "widget")]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Static files are served by the app itself (WhiteNoise) straight from the source folders: no collectstatic step.
WHITENOISE_USE_FINDERS = True
warnings.filterwarnings("ignore", message="No directory at")
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}

# The operators' covering index (conversations.Message message_user_stats) includes columns PostgreSQL reads
# from the index alone; SQLite, the embedded default, builds it without them, which is all that warning says.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
# Production hardening (docs/deployment.md): off by default so that `make run` serves plain HTTP on a laptop;
# the documented production environment turns every one on, and `manage.py check --deploy` is then clean.
# DJANGO_SECURE_PROXY_SSL_HEADER names the header the TLS-terminating proxy sets, e.g. X-Forwarded-Proto.
_proxy_ssl_header = env.str("DJANGO_SECURE_PROXY_SSL_HEADER", default="")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)

# Health and metrics (monitoring/): /healthz, /readyz and /metrics are answered first, before host validation
# and the HTTPS redirect; django-prometheus counts every other request. /metrics is for CHARLA_METRICS_TOKEN's
# bearer, or, with no token set, for the addresses in CHARLA_METRICS_ALLOWED_IPS.
INSTALLED_APPS += ["django_prometheus", "monitoring"]
MIDDLEWARE = [
    "monitoring.middleware.OpsEndpointsMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    *MIDDLEWARE,
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
CHARLA_METRICS_TOKEN = env.str("CHARLA_METRICS_TOKEN", default="")
CHARLA_METRICS_ALLOWED_IPS = env.list("CHARLA_METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
# Batch prediction jobs (issue 11, docs/api.md): texts registered in PostgreSQL, classified by workers on queue
# `batch` (`make batch-worker`) that claim chunks of items under a lease.
CHARLA_BATCH_MAX_ITEMS = env.int("CHARLA_BATCH_MAX_ITEMS", default=100_000)
CHARLA_BATCH_MAX_BYTES = env.int("CHARLA_BATCH_MAX_BYTES", default=64 * 1024 * 1024)
CHARLA_BATCH_CHUNK_SIZE = env.int("CHARLA_BATCH_CHUNK_SIZE", default=64)
CHARLA_BATCH_LEASE_SECONDS = env.float("CHARLA_BATCH_LEASE_SECONDS", default=60.0)
CHARLA_BATCH_PARALLELISM = env.int("CHARLA_BATCH_PARALLELISM", default=4)
# Milliseconds a batch worker pauses after claiming each chunk, for the killed-worker test only; 0 (off) in production.
CHARLA_FAULT_BATCH_CHUNK_DELAY_MS = env.int("CHARLA_FAULT_BATCH_CHUNK_DELAY_MS", default=0)
CELERY_TASK_ROUTES["intents.tasks.prediction_job_work"] = {"queue": "batch"}
CELERY_BEAT_SCHEDULE["requeue-stalled-prediction-jobs"] = {
    "task": "intents.tasks.prediction_jobs_requeue_stalled",
    "schedule": 60.0,
}

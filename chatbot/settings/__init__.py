"""Charla settings: every value comes from the environment, with defaults that run on a bare machine."""

import warnings
from pathlib import Path

import environ
import redis.connection
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="charla-insecure-development-key-change-me")
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

# Celery: with no broker configured, tasks run in-process (the embedded default).
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
    "conversations.tasks.message_answer": {"queue": "inference"},
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
CHARLA_ENCODER_PATH = env.str("CHARLA_ENCODER_PATH", default="")
CHARLA_TORCH_THREADS = env.int("CHARLA_TORCH_THREADS", default=1)
# Encoder runtime of the workers: torch, onnx or onnx-int8 (exported once into CHARLA_MODEL_DIR/.encoders).
CHARLA_INFERENCE_BACKEND = env.str("CHARLA_INFERENCE_BACKEND", default="torch")
# Micro-batched answers (docs/performance.md): 1 queues answers on a Redis stream read by `manage.py answer_worker`.
CHARLA_INFERENCE_BATCH = env.bool("CHARLA_INFERENCE_BATCH", default=False)
CHARLA_INFERENCE_BATCH_SIZE = env.int("CHARLA_INFERENCE_BATCH_SIZE", default=32)
CHARLA_INFERENCE_BATCH_WAIT_MS = env.int("CHARLA_INFERENCE_BATCH_WAIT_MS", default=0)
CHARLA_INFERENCE_CLAIM_IDLE = env.int("CHARLA_INFERENCE_CLAIM_IDLE", default=30)
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

# The REST API (/api/): staff only, by session or token; OpenAPI schema at /api/schema/.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Charla API",
    "DESCRIPTION": "Staff operations on Charla's chat data.",
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

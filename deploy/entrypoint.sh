#!/bin/sh
# The image's roles, picked by the container's command (compose.yaml): web, answer-worker, jobs, beat, batch,
# training, migrate. Anything else runs as given, e.g. `docker compose run --rm web python manage.py createsuperuser`.
set -eu
role="${1:-web}"
[ "$#" -gt 0 ] && shift
case "$role" in
  web)
    # One daphne process per core (CHARLA_WEB_PROCESSES sets how many) on one port, as `make run` serves.
    # --proxy-headers: the client address comes from the proxy's X-Forwarded-For; only the proxy reaches daphne.
    exec python -m chatbot.serve --bind 0.0.0.0 --port 8000 --proxy-headers chatbot.asgi:application "$@" ;;
  answer-worker)
    # The answer path: loads the production models, then answers from the Redis stream. One per core.
    exec python manage.py answer_worker "$@" ;;
  jobs)
    # The periodic jobs beat queues (queue `default`).
    exec celery -A chatbot worker -Q default --pool=solo -n jobs@%h --loglevel=INFO "$@" ;;
  beat)
    exec celery -A chatbot beat -s /app/var/celerybeat-schedule --loglevel=INFO "$@" ;;
  batch)
    exec celery -A chatbot worker -Q batch --pool=prefork --concurrency="${CHARLA_BATCH_CONCURRENCY:-1}" \
      -n batch@%h --loglevel=INFO "$@" ;;
  training)
    exec celery -A chatbot worker -Q training --pool=solo -n training@%h --loglevel=INFO "$@" ;;
  migrate)
    exec python manage.py migrate --noinput "$@" ;;
  *)
    exec "$role" "$@" ;;
esac

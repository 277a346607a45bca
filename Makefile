# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# Development mode: processes started from here may use the public development secret key when
# DJANGO_SECRET_KEY is unset (production images start their processes directly, never through make).
export CHARLA_DEV ?= 1

.PHONY: run test install worker beat training-worker batch-worker

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned, so that no dependency pulls another build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Runs the chatbot on http://127.0.0.1:8000/ (plus a Celery worker when REDIS_URL is set).
run: $(STAMP)
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo_bot
	$(BIN)/python manage.py train_intents --bot demo --if-changed
	@if [ -n "$$REDIS_URL" ]; then \
		echo "Starting Celery workers (queues inference, default; training; batch)"; \
		$(BIN)/celery -A chatbot worker -B -s var/celerybeat-schedule -Q inference,default --pool=prefork --concurrency=2 --loglevel=INFO & \
		$(BIN)/celery -A chatbot worker -Q training --pool=solo -n training@%h --loglevel=INFO & \
		$(BIN)/celery -A chatbot worker -Q batch --pool=solo -n batch@%h --loglevel=INFO & \
		trap 'kill %1 %2 %3' EXIT INT TERM; \
		$(BIN)/python -m chatbot.serve -b 127.0.0.1 -p 8000 chatbot.asgi:application; \
	else \
		$(BIN)/python -m chatbot.serve -b 127.0.0.1 -p 8000 chatbot.asgi:application; \
	fi

worker: $(STAMP)
	$(BIN)/celery -A chatbot worker -Q inference,default --pool=prefork --concurrency=2 --loglevel=INFO

# Runs admin-requested training jobs (queue `training`), one at a time, apart from the answering workers.
training-worker: $(STAMP)
	$(BIN)/celery -A chatbot worker -Q training --pool=solo -n training@%h --loglevel=INFO

# Runs batch prediction jobs (queue `batch`): run one per free core; they share a job's chunks through PostgreSQL.
batch-worker: $(STAMP)
	$(BIN)/celery -A chatbot worker -Q batch --pool=solo -n batch-$$$$@%h --loglevel=INFO

# The periodic jobs (requeue sweep, idle close, retention purge): run exactly one beat per deployment.
beat: $(STAMP)
	mkdir -p var
	$(BIN)/celery -A chatbot beat -s var/celerybeat-schedule --loglevel=INFO

# Runs the test suite against the local PostgreSQL and Redis.
test: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/charla} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/14} \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

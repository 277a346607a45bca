# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test install worker

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
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo_bot
	$(BIN)/python manage.py train_intents --bot demo --if-changed
	@if [ -n "$$REDIS_URL" ]; then \
		echo "Starting a Celery worker (queues inference, default)"; \
		$(BIN)/celery -A chatbot worker -Q inference,default --pool=prefork --concurrency=2 --loglevel=INFO & \
		trap 'kill %1' EXIT INT TERM; \
		$(BIN)/daphne -b 127.0.0.1 -p 8000 chatbot.asgi:application; \
	else \
		$(BIN)/daphne -b 127.0.0.1 -p 8000 chatbot.asgi:application; \
	fi

worker: $(STAMP)
	$(BIN)/celery -A chatbot worker -Q inference,default --pool=prefork --concurrency=2 --loglevel=INFO

# Runs the test suite against the local PostgreSQL and Redis.
test: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/charla} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/14} \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

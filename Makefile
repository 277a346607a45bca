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

.PHONY: run test install worker jobs-worker beat training-worker batch-worker

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned, so that no dependency pulls another build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Answer workers `make run` starts with REDIS_URL set: one per core unless told otherwise.
ANSWER_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

# Runs the chatbot on http://127.0.0.1:8000/. With REDIS_URL set, also the answer workers (ANSWER_WORKERS of them),
# a Celery worker with beat for the periodic jobs, and the training and batch workers; without it, answers are
# made in the web process.
run: $(STAMP)
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo_bot
	$(BIN)/python manage.py train_intents --bot demo --if-changed
	@pids=""; \
	if [ -n "$$REDIS_URL" ]; then \
		echo "Starting $(ANSWER_WORKERS) answer workers and Celery workers (beat's jobs; training; batch)"; \
		for n in $$(seq $(ANSWER_WORKERS)); do $(BIN)/python manage.py answer_worker & pids="$$pids $$!"; done; \
		$(BIN)/celery -A chatbot worker -B -s var/celerybeat-schedule -Q default --pool=solo -n jobs@%h --loglevel=INFO & pids="$$pids $$!"; \
		$(BIN)/celery -A chatbot worker -Q training --pool=solo -n training@%h --loglevel=INFO & pids="$$pids $$!"; \
		$(BIN)/celery -A chatbot worker -Q batch --pool=solo -n batch@%h --loglevel=INFO & pids="$$pids $$!"; \
		trap 'kill $$pids' EXIT INT TERM; \
	fi; \
	$(BIN)/python -m chatbot.serve -b 127.0.0.1 -p 8000 chatbot.asgi:application

# Answers visitors' messages from the Redis stream (needs REDIS_URL); run one per core.
worker: $(STAMP)
	$(BIN)/python manage.py answer_worker

# Runs the periodic jobs beat queues (queue `default`: requeue sweep, idle close, retention purge…).
jobs-worker: $(STAMP)
	$(BIN)/celery -A chatbot worker -Q default --pool=solo -n jobs@%h --loglevel=INFO

# Runs admin-requested training jobs (queue `training`), one at a time, apart from the answering workers.
training-worker: $(STAMP)
	$(BIN)/celery -A chatbot worker -Q training --pool=solo -n training@%h --loglevel=INFO

# Runs batch prediction jobs (queue `batch`): run one per free core; they share a job's chunks through PostgreSQL.
batch-worker: $(STAMP)
	$(BIN)/celery -A chatbot worker -Q batch --pool=solo -n batch-$$$$@%h --loglevel=INFO

# Queues the periodic jobs (requeue sweep, idle close, retention purge) for `make jobs-worker`: exactly one beat
# per deployment.
beat: $(STAMP)
	mkdir -p var
	$(BIN)/celery -A chatbot beat -s var/celerybeat-schedule --loglevel=INFO

# Runs the test suite against the local PostgreSQL and Redis.
# Test processes (pytest-xdist): the suite mostly waits on the processes it starts, so two overlap well on 2 cores.
# Each takes whole test files (their module-scoped stacks) and its own Redis database (tests/redis_per_worker.py).
TEST_WORKERS ?= 2

test: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/charla} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/14} \
	$(BIN)/python -m pytest -p tests.redis_per_worker -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

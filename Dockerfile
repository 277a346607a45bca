# syntax=docker/dockerfile:1
# One image for every role of Charla, picked by the container's command (deploy/entrypoint.sh): web (daphne),
# answer-worker (every answer, in micro-batches), jobs (Celery: beat's periodic jobs), beat, batch, training, migrate.
# CPU build: `docker build -t charla .`; CUDA build for the gpu profile:
# `docker build --build-arg TORCH_INDEX_URL=https://pypi.org/simple -t charla-gpu .` (PyPI's Linux torch wheels
# are CUDA builds). See docs/deployment.md.
FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CHARLA_MODEL_DIR=/app/var/models

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin charla
WORKDIR /app

# torch first, pinned and from the chosen index, so that no dependency pulls another build (as the Makefile does).
RUN pip install torch==2.13.0 --index-url "${TORCH_INDEX_URL}"

# The pinned dependencies of pyproject.toml, in a layer of their own: a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
# Static files into STATIC_ROOT, served by WhiteNoise from there (collectstatic needs no key or database).
RUN python manage.py collectstatic --noinput \
    && mkdir -p var/models \
    && chown -R charla:charla var

USER charla
EXPOSE 8000
# The web role's probe; compose.yaml gives the other roles their own check or none.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["python", "deploy/healthcheck.py"]
ENTRYPOINT ["deploy/entrypoint.sh"]
CMD ["web"]

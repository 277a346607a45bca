"""One Redis database per pytest-xdist worker (`make test` runs two): the answer stream, the channel layer's groups,
Celery's queues and the limits' counters are per database, so two workers' live stacks never take each other's work.

Worker `gwN` uses the database of REDIS_URL plus N. `make test` loads it with `-p` beside `-n`, so it runs before
pytest-django reads the settings (xdist names the worker in the environment before that); `-p` needs the repository
root on sys.path, which `python -m pytest` gives. A run in one process needs none of this. PostgreSQL needs nothing:
pytest-django gives each worker its own test database.
"""

import os
from urllib.parse import urlsplit, urlunsplit

import pytest

REDIS_DATABASES = 16  # Redis's default `databases`

_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_url = os.environ.get("REDIS_URL", "")
if _worker.startswith("gw") and _url:
    _parts = urlsplit(_url)
    _db = int(_parts.path.lstrip("/") or 0) + int(_worker[2:])
    if _db >= REDIS_DATABASES:
        raise pytest.UsageError(
            f"REDIS_URL's database plus the worker number ({_worker}) is {_db}: Redis has {REDIS_DATABASES}; "
            "use a lower database in REDIS_URL or fewer workers (-n)."
        )
    os.environ["REDIS_URL"] = urlunsplit(_parts._replace(path=f"/{_db}"))

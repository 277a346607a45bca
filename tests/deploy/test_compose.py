"""The container files, checked by reading them (no container engine runs in CI): compose.yaml against the
Compose specification's schema, and every command, path, queue and setting they name against the repository."""

import json
import re
import shlex
import shutil
import stat
import subprocess
from fnmatch import fnmatch

import jsonschema
import pytest
import yaml

from tests.live import ROOT

COMPOSE = ROOT / "compose.yaml"
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
DOCKERFILE = ROOT / "Dockerfile"
NGINX = ROOT / "deploy" / "nginx.conf"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _roles() -> dict[str, list[list[str]]]:
    """entrypoint.sh's roles: each case arm's name and the command it execs, as argument lists (without the
    "$@" that passes the container command's further arguments on)."""
    text = ENTRYPOINT.read_text().replace("\\\n", " ")
    arms = re.findall(r"^\s+([a-z*-]+)\)\n(.*?);;", text, flags=re.M | re.S)
    return {name: [[arg for arg in shlex.split(line.strip())[1:] if arg != "$@"]
                   for line in body.splitlines() if line.strip().startswith("exec ")]
            for name, body in arms}  # fmt: skip


def _charla_services(compose: dict) -> dict[str, dict]:
    services = compose["services"].items()
    return {name: service for name, service in services if str(service.get("image", "")).startswith("charla")}


def test_compose_file_is_valid_against_the_compose_specification(compose):
    """compose.yaml validates against the vendored Compose schema; the same validator rejects a service with
    an unknown key, so the check has teeth."""
    schema = json.loads((ROOT / "deploy" / "compose-spec" / "compose_spec.json").read_text())
    jsonschema.Draft201909Validator.check_schema(schema)
    validator = jsonschema.Draft201909Validator(schema)
    assert [error.message for error in validator.iter_errors(compose)] == []
    broken = {**compose, "services": {**compose["services"], "web": {**compose["services"]["web"], "replica": 2}}}
    assert not validator.is_valid(broken)


def test_every_service_runs_a_role_whose_command_exists(compose):
    """Each Charla service's command is an entrypoint role; each role runs chatbot.serve (daphne processes on one
    port) on the ASGI module, a Celery worker or beat on routed queues, or a manage.py command, with options that
    command accepts. A healthcheck that runs a manage.py command names one that exists."""
    from django.conf import settings
    from django.core.management import get_commands, load_command_class

    roles = _roles()
    routed = {settings.CELERY_TASK_DEFAULT_QUEUE, *(route["queue"] for route in settings.CELERY_TASK_ROUTES.values())}
    commands = get_commands()
    for name, service in _charla_services(compose).items():
        role, *extra = service["command"]
        assert role in roles and role != "*", f"{name}: no role {role!r} in deploy/entrypoint.sh"
        for argv in roles[role]:
            program = argv[0]
            assert shutil.which(program, path=str(ROOT / ".venv" / "bin")) or program == "python", argv
            if argv[:3] == ["python", "-m", "chatbot.serve"]:
                module, attribute = argv[-1].split(":")
                assert f"\n{attribute} = " in (ROOT / (module.replace(".", "/") + ".py")).read_text()
            elif program == "celery":
                assert argv[1:3] == ["-A", "chatbot"] and argv[3] in ("worker", "beat")
                if argv[3] == "worker":
                    queues = set(argv[argv.index("-Q") + 1].split(","))
                    assert queues <= routed, (name, queues - routed)
            else:
                assert argv[:2] == ["python", "manage.py"] and argv[2] in commands, argv
                parser = load_command_class(commands[argv[2]], argv[2]).create_parser("manage.py", argv[2])
                parser.parse_args([*argv[3:], *extra])
        check = service.get("healthcheck", {}).get("test", [])
        if check[1:3] == ["python", "manage.py"]:
            assert check[3] in commands, (name, check)
    assert _charla_services(compose)["answer-worker"]["healthcheck"]["test"][3] == "answer_worker_check"


def test_entrypoint_is_an_executable_shell_script_that_passes_other_commands_through():
    """`sh -n` accepts it, it is executable, and a command that is no role runs as given."""
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR
    subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=True)
    out = subprocess.run([str(ENTRYPOINT), "echo", "as given"], capture_output=True, text=True, check=True)
    assert out.stdout == "as given\n"


def test_services_reference_files_volumes_services_and_settings_that_exist(compose):
    """env files and bind-mount sources exist, named volumes are declared, dependencies are services that can
    satisfy their condition, and every variable the env file sets is one the settings read."""
    settings_source = (ROOT / "chatbot" / "settings" / "__init__.py").read_text()
    for name, service in compose["services"].items():
        for env_file in service.get("env_file", []):
            for line in (ROOT / env_file).read_text().splitlines():
                if line and not line.startswith("#"):
                    key = line.split("=", 1)[0]
                    assert f'"{key}"' in settings_source or key.startswith(("HF_", "TRANSFORMERS_")), (env_file, key)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), (name, source)
            else:
                assert source in compose["volumes"], (name, source)
        for dependency, condition in service.get("depends_on", {}).items():
            target = compose["services"][dependency]
            if condition["condition"] == "service_healthy":
                assert not target.get("healthcheck", {}).get("disable"), (name, dependency)
            if condition["condition"] == "service_completed_successfully":
                assert target["restart"] == "no", (name, dependency)
    gpu = compose["services"]["answer-worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]


def test_dockerfile_builds_one_non_root_image_with_pinned_torch_static_files_and_a_healthcheck():
    """python:3.11-slim, torch pinned as in pyproject.toml and installed first, collectstatic at build, a
    non-root user, the /healthz HEALTHCHECK, and every file the image needs is not excluded by .dockerignore."""
    lines = [line.strip() for line in DOCKERFILE.read_text().replace("\\\n", " ").splitlines()
             if line.strip() and not line.startswith("#")]  # fmt: skip
    instructions = [line.split(None, 1) for line in lines]
    assert instructions[0] == ["FROM", "python:3.11-slim"]
    pin = re.search(r'"(torch==[^"]+)"', (ROOT / "pyproject.toml").read_text())[1]
    runs = [arg for op, arg in instructions if op == "RUN"]
    assert any(pin in run for run in runs) and pin in next(run for run in runs if "pip install" in run)
    assert any("manage.py collectstatic" in run for run in runs)
    user = [arg for op, arg in instructions if op == "USER"]
    assert user and user[-1] not in ("root", "0")
    last_run = max(i for i, (op, _) in enumerate(instructions) if op == "RUN")
    assert [op for op, _ in instructions].index("USER") > last_run
    healthcheck = next(arg for op, arg in instructions if op == "HEALTHCHECK")
    assert "deploy/healthcheck.py" in healthcheck and "/healthz" in (ROOT / "deploy" / "healthcheck.py").read_text()
    assert json.loads(next(arg for op, arg in instructions if op == "ENTRYPOINT")) == ["deploy/entrypoint.sh"]
    ignored = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and p[0] != "#"]
    needed = ["manage.py", "pyproject.toml", "deploy/entrypoint.sh", "deploy/healthcheck.py", "chatbot/asgi.py",
              "conversations/models.py", "intents/demo/demo_bot.json", "monitoring/views.py", "templates", "static"]
    for path in needed:
        assert (ROOT / path).exists() and not any(fnmatch(path, p) or path.startswith(p + "/") for p in ignored), path


def test_proxy_sends_websockets_to_the_web_service_and_keeps_metrics_private(compose):
    """nginx upgrades WebSocket handshakes, balances over the `web` service's port 8000 (where the web role
    listens), reads its certificates from the mounted folder, and does not expose /metrics."""
    conf = NGINX.read_text()
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert "server web:8000 resolve;" in conf and "web" in compose["services"]
    assert "--port 8000" in " ".join(" ".join(argv) for argv in _roles()["web"])
    assert "location = /metrics { return 404; }" in conf
    assert "./deploy/tls:/etc/nginx/tls:ro" in compose["services"]["proxy"]["volumes"]
    assert "ssl_certificate /etc/nginx/tls/fullchain.pem;" in conf


def _docker_compose_available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _docker_compose_available(), reason="no `docker compose` here (the schema test stands in)")
def test_docker_compose_config_accepts_the_file():
    """Where Docker Compose is installed, its own parser accepts the file with the required secrets set."""
    env = {"DJANGO_SECRET_KEY": "x" * 50, "POSTGRES_PASSWORD": "p", "CHARLA_METRICS_TOKEN": "t",
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    subprocess.run(["docker", "compose", "-f", str(COMPOSE), "--profile", "gpu", "config", "--quiet"],
                   cwd=ROOT, env=env, check=True)  # fmt: skip

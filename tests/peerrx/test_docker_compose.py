"""docker-compose.yml cannot be run here (no Docker engine), so check it as data."""

import ast
import re
import runpy
from pathlib import Path

import yaml

from core import env

ROOT = Path(__file__).resolve().parents[2]
ENV_READERS = {name for name in dir(env) if name.startswith("env_")}


def env_vars_read_by(path: Path) -> set[str]:
    """Every variable name a file passes to one of core.env's readers."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ENV_READERS:
            first = node.args[0]
            assert isinstance(first, ast.Constant), "env readers take a literal variable name"
            names.add(first.value)
    return names


def settings_env_vars() -> set[str]:
    """Every variable the settings and the web server's configuration read."""
    return env_vars_read_by(ROOT / "peerrx" / "settings.py") | env_vars_read_by(ROOT / "gunicorn.conf.py")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_has_the_services_of_one_stack():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat", "proxy"}


def test_it_builds_one_image_for_web_worker_and_beat():
    services = compose()["services"]
    images = {services[name]["image"] for name in ("web", "worker", "beat")}
    assert images == {"peerrx:latest"}
    assert all(services[name]["build"] == "." for name in ("web", "worker", "beat"))


def test_it_runs_two_beats_and_migrates_on_start():
    services = compose()["services"]
    beats = [name for name, service in services.items() if "beat" in str(service.get("command", ""))]
    assert beats == ["beat"]
    assert services["beat"]["deploy"]["replicas"] == 2
    assert "migrate" in services["web"]["command"]
    assert "gunicorn -c gunicorn.conf.py" in services["web"]["command"]


def test_only_the_proxy_is_reachable_from_outside():
    services = compose()["services"]
    assert "ports" not in services["web"]
    assert services["proxy"]["image"].startswith("nginx:")
    assert services["proxy"]["ports"] == ["80:80"]
    mounted = services["proxy"]["volumes"][0].split(":")
    assert mounted[:2] == ["./deploy/nginx.conf", "/etc/nginx/conf.d/default.conf"]
    assert (ROOT / mounted[0]).is_file()


def test_the_proxy_bounds_bodies_and_time_and_replaces_forwarded_for():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    directives = dict(re.findall(r"^[ \t]*([a-z_]+)[ \t]+([^;#\n]+);", conf, flags=re.MULTILINE))
    assert directives["client_max_body_size"] == "8m"
    assert directives["client_body_timeout"] == "15s"
    assert directives["proxy_request_buffering"] == "on"
    assert directives["proxy_buffering"] == "on"
    assert directives["proxy_pass"] == "http://peerrx_web"
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    assert "server web:8000;" in conf


def test_gunicorn_runs_threaded_workers_from_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    monkeypatch.setenv("GUNICORN_THREADS", "6")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "20")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["worker_class"] == "gthread"
    assert (config["workers"], config["threads"], config["timeout"]) == (2, 6, 20)
    assert config["bind"] == "0.0.0.0:8000"


def test_the_dockerfile_and_procfile_start_gunicorn_with_its_configuration():
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py", "peerrx.wsgi"]' in (ROOT / "Dockerfile").read_text()
    assert "web: gunicorn -c gunicorn.conf.py peerrx.wsgi" in (ROOT / "Procfile").read_text()


def test_every_variable_it_sets_is_read_by_the_settings():
    known = settings_env_vars()
    for name in ("web", "worker", "beat"):
        unknown = set(compose()["services"][name]["environment"]) - known
        assert not unknown, f"{name} sets variables the settings never read: {sorted(unknown)}"


def test_the_settings_reader_finds_the_documented_variables():
    assert {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "SMS_BACKEND"} <= (
        settings_env_vars()
    )

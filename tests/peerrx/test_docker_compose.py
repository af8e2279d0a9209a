"""docker-compose.yml cannot be run here (no Docker engine), so check it as data."""

import ast
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ENV_READERS = {"env_str", "env_bool", "env_int", "env_float", "env_list", "env_choice"}


def settings_env_vars() -> set[str]:
    """Every variable name peerrx/settings.py passes to one of the env readers."""
    tree = ast.parse((ROOT / "peerrx" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ENV_READERS:
            first = node.args[0]
            assert isinstance(first, ast.Constant), "env readers take a literal variable name"
            names.add(first.value)
    return names


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_has_the_services_of_one_stack():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}


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
    assert "gunicorn" in services["web"]["command"]


def test_every_variable_it_sets_is_read_by_the_settings():
    known = settings_env_vars()
    for name in ("web", "worker", "beat"):
        unknown = set(compose()["services"][name]["environment"]) - known
        assert not unknown, f"{name} sets variables the settings never read: {sorted(unknown)}"


def test_the_settings_reader_finds_the_documented_variables():
    assert {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "SMS_BACKEND"} <= (
        settings_env_vars()
    )

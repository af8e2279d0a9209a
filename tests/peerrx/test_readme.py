from pathlib import Path

from tests.peerrx.test_docker_compose import settings_env_vars

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_documents_every_environment_variable():
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in settings_env_vars() if f"`{name}`" not in readme)
    assert not missing, f"README's configuration table lacks {missing}"


def test_the_readme_shows_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme
    assert "make test" in readme

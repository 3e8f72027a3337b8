"""The image, compose.yaml and make stack run the same commands; what the code imports is declared and locked."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import yaml

from deploy.run import PARTS, command

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("app", "incidents", "verification", "chain", "kernel", "exchange_sim")


def test_the_image_runs_the_parts_make_stack_runs():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "-m", "deploy.run"]' in dockerfile
    assert "--require-hashes -r /tmp/app.lock" in dockerfile and re.search(r"^USER lockdesk$", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile and "/readyz" in dockerfile
    stack = (REPO / "deploy" / "stack.py").read_text()
    for part in ("migrate", "web", "celery-worker", "celery-beat"):
        assert f'[*run, "{part}"' in stack


def test_the_base_image_is_one_build_argument_that_production_pins_by_digest():
    dockerfile = (REPO / "Dockerfile").read_text()
    default = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.M)
    assert default and default.group(1).startswith("python:3.11")
    assert re.findall(r"^FROM (\S+)", dockerfile, re.M) == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    assert "--build-arg PYTHON_IMAGE=python:3.11.7-slim-bookworm@sha256:" in dockerfile


def test_compose_runs_every_part_by_its_name():
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    commands = {name: service["command"][0] for name, service in services.items()
                if service.get("image") == "lockdesk:latest" or service.get("build")}
    assert commands == {"migrate": "migrate", "web": "web", "worker": "celery-worker", "beat": "celery-beat"}
    assert all(part in PARTS for part in commands.values())


def test_the_web_part_is_gunicorn_with_gthread_workers_and_the_app_last():
    argv = command("web", ["--timeout", "60"])
    assert argv[0] == "gunicorn" and argv[argv.index("--worker-class") + 1] == "gthread"
    assert argv[-1] == "app:create_app()" and argv[-3:-1] == ["--timeout", "60"]


def third_party_imports() -> set[str]:
    """Top-level modules the product code imports that are neither its own nor the standard library's."""
    names: set[str] = set()
    for package in PRODUCT:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name not in PRODUCT}


def declared() -> set[str]:
    """The distributions pyproject.toml depends on, normalised."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
            for requirement in project["dependencies"]}


def test_every_imported_package_is_declared_and_locked():
    owners = packages_distributions()
    lock = (REPO / "requirements" / "app.lock").read_text().lower()
    for module in sorted(third_party_imports()):
        distributions = {name.lower().replace("_", "-") for name in owners.get(module, [])}
        assert distributions & declared(), f"{module} is imported but none of {distributions} is declared"
        assert any(f"\n{name}==" in lock for name in distributions), f"{module} is not in requirements/app.lock"


def test_every_declared_dependency_has_an_upper_bound():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert "<" in requirement, f"{requirement} has no upper bound"

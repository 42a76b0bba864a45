"""The deployment files hang together: compose.yaml, the Dockerfile and the README's commands.

Docker itself is not run here (CI machines may have no engine); these checks catch what breaks a
first ``docker compose up``: a service that names no image, a secret inlined instead of read
from ``.env``, a health check on the wrong port, a worker that starts before the migrations.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.workers import STOP_GRACE

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_runs_postgres_migrations_hirfa_and_an_https_proxy() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "migrate", "hirfa", "caddy"}
    assert services["db"]["image"].startswith("postgres:")
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    assert "pgdata" in compose()["volumes"]
    for name in ("migrate", "hirfa"):
        service = services[name]
        assert service["build"] == "."  # the Dockerfile next to compose.yaml
        assert service["env_file"] == ".env"
        url = service["environment"]["HIRFA_DATABASE_URL"]
        assert url.startswith("postgresql://") and "${POSTGRES_PASSWORD}" in url  # from .env
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["hirfa", "db", "upgrade"]
    hirfa = services["hirfa"]
    assert hirfa["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert hirfa["environment"]["HIRFA_HTTP__SERVE"] == "true"
    assert "8080/healthz" in " ".join(hirfa["healthcheck"]["test"])
    # a stop (docker compose down, a new version) lets the supervisor stop its workers cleanly
    assert int(hirfa["stop_grace_period"].removesuffix("s")) > STOP_GRACE
    assert "hirfa:8080" in services["caddy"]["command"]
    assert {"80:80", "443:443"} <= set(services["caddy"]["ports"])


def test_no_secret_is_written_into_the_deployment_files() -> None:
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert re.search(r"PASSWORD:\s*\$\{POSTGRES_PASSWORD", text)
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for line in example.splitlines():
        if "TOKEN=" in line or "SECRET=" in line:
            assert line.split("=", 1)[1] in ("", "change-me-too"), line
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


def test_the_image_is_small_runs_as_a_user_and_checks_its_health() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert stages and all(s.startswith("python:3.11-slim") for s in stages)
    assert re.search(r"^USER hirfa$", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert '".[postgres]"' in dockerfile  # asyncpg comes with the postgres extra
    assert "postgresql-client" in dockerfile  # pg_dump for `hirfa backup`
    for folder in ("bot", "handlers", "storage", "locales", "console"):
        assert f"COPY {folder} ./{folder}" in dockerfile

"""The container deployment: docker-compose.yml, Dockerfile, .dockerignore, .env.example.

No Docker engine runs here, so images are not built. What is checked: Compose itself validates
the file (``docker-compose config -q``, offline; skipped when docker-compose is not installed),
the resolved configuration wires the services as documented, and the Dockerfile and
.dockerignore agree with the repository.
"""

from __future__ import annotations

import shlex
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kb.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"

needs_compose = pytest.mark.skipif(shutil.which("docker-compose") is None,
                                   reason="docker-compose not installed (apt-get install docker-compose)")  # fmt: skip


def _project(tmp_path: Path, *, with_env: bool) -> Path:
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    if with_env:
        shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    return tmp_path


def _compose(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker-compose", "-f", "docker-compose.yml", *args], cwd=project,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


@needs_compose
def test_compose_file_validates(tmp_path: Path) -> None:
    result = _compose(_project(tmp_path, with_env=True), "config", "-q")
    assert result.returncode == 0, result.stderr


@needs_compose
def test_compose_refuses_to_start_without_a_password(tmp_path: Path) -> None:
    result = _compose(_project(tmp_path, with_env=False), "config", "-q")
    assert result.returncode != 0 and "ELASTIC_PASSWORD" in result.stderr


@pytest.fixture
def resolved(tmp_path: Path) -> dict:
    """The configuration as Compose resolves it (or as written, when Compose is absent)."""
    if shutil.which("docker-compose") is None:
        text = COMPOSE.read_text().replace("${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD in .env (copy .env.example)}", "pw")
        return yaml.safe_load(re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text))  # ${NAME:-default} -> default
    result = _compose(_project(tmp_path, with_env=True), "config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_elasticsearch_service(resolved: dict) -> None:
    es = resolved["services"]["elasticsearch"]
    env = es["environment"]
    assert es["image"].startswith("elasticsearch:8.")
    assert env["xpack.security.enabled"] == "true" and env["discovery.type"] == "single-node"
    assert env["ES_JAVA_OPTS"] == "-Xms1g -Xmx1g"
    assert "ELASTIC_PASSWORD" in env
    assert any(str(v).startswith("esdata:/usr/share/elasticsearch/data") for v in es["volumes"])
    assert "esdata" in resolved["volumes"]
    check = " ".join(es["healthcheck"]["test"])
    assert "curl" in check and "_cluster/health" in check and "$$ELASTIC_PASSWORD" in check
    assert str(es["ports"][0]).startswith("127.0.0.1:9200:9200")  # reachable from this host only


@pytest.mark.parametrize("name", ["api", "ingest"])
def test_product_services_use_elasticsearch_with_credentials(resolved: dict, name: str) -> None:
    service = resolved["services"][name]
    env = service["environment"]
    assert env["KB_STORE"] == "elasticsearch" and env["KB_ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
    assert env["KB_ELASTICSEARCH__USERNAME"] == "elastic" and env["KB_ELASTICSEARCH__PASSWORD"]
    assert service["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert service["image"] == "child-protection-kb:latest" and "build" in service


def test_ingest_is_one_shot_and_api_waits_for_it(resolved: dict) -> None:
    services = resolved["services"]
    assert services["ingest"]["command"] == ["kb", "ingest", "corpus/"] and services["ingest"]["restart"] == "no"
    assert services["api"]["depends_on"]["ingest"]["condition"] == "service_completed_successfully"
    assert services["api"]["command"] == ["kb", "serve", "--no-index-corpus"]


def test_service_environment_is_what_the_settings_read(monkeypatch: pytest.MonkeyPatch, resolved: dict) -> None:
    """The variables the compose file sets produce an Elasticsearch configuration."""
    for key, value in resolved["services"]["api"]["environment"].items():
        monkeypatch.setenv(key, str(value))
    settings = Settings()
    assert settings.store.backend == "elasticsearch"
    assert settings.elasticsearch.url == "http://elasticsearch:9200"
    assert settings.elasticsearch.username == "elastic" and settings.elasticsearch.password is not None
    assert settings.embedding.query_encoder == "onnx" and settings.embedding.backend == "torch"


# --- Dockerfile -----------------------------------------------------------------------------------
def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            logical.append(current.strip())
            current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def test_dockerfile_base_torch_first_non_root_healthcheck() -> None:
    steps = _instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = [args for op, args in steps if op == "RUN"]
    torch_at = next(i for i, r in enumerate(runs) if "pip install torch==2.13.0" in r)
    project_at = next(i for i, r in enumerate(runs) if 'pip install -c /tmp/constraints.txt ".[onnx]"' in r)
    assert torch_at < project_at  # and with ONNX Runtime, which the compose file's query encoder needs
    assert "--index-url" not in DOCKERFILE.read_text() and "http" not in " ".join(runs)
    user_at = max(i for i, (op, _) in enumerate(steps) if op == "USER")
    assert steps[user_at][1] not in ("root", "0")
    assert user_at < next(i for i, (op, _) in enumerate(steps) if op == "CMD")
    health = next(args for op, args in steps if op == "HEALTHCHECK")
    assert "/health" in health
    env = " ".join(args for op, args in steps if op == "ENV")
    assert "HF_HUB_OFFLINE=1" in env and "KB_DATA_DIR=/data" in env


def test_dockerfile_copies_what_exists_and_dockerignore_keeps_it() -> None:
    copied = [shlex.split(args)[:-1] for op, args in _instructions() if op == "COPY"]
    sources = [s for group in copied for s in group]
    assert set(sources) >= {"pyproject.toml", "constraints.txt", "README.md", "kb", "ingest", "api", "corpus"}
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is not in the repository"
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}  # fmt: skip
    assert not ignored & set(sources)
    assert {".git", ".venv", ".env", "tests", ".kb"} <= ignored


def test_env_example_documents_every_variable_compose_needs() -> None:
    example = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines()
               if "=" in line and not line.startswith("#")}  # fmt: skip
    assert {"ELASTIC_PASSWORD", "KB_API_KEY", "ES_VERSION", "KB_PORT"} <= example
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()

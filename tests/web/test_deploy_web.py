"""The console where the rest runs: compose service behind the gateway at /, its Kubernetes manifest, the image."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {f"WEB_{name.upper()}" for name in WebSettings.model_fields}


def test_compose_serves_the_console_behind_the_gateway_at_the_root() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    web = services["web"]
    assert web["command"] == ["web"] and web["build"]["dockerfile"] == "Dockerfile"
    assert set(web["environment"]) - {"SERVICE"} <= FIELDS, set(web["environment"]) - FIELDS
    assert re.fullmatch(
        r"postgresql://web:\$\{WEB_DB_PASSWORD:\?[^}]*\}@postgres:5432/web", web["environment"]["WEB_SESSION_STORE_URL"]
    )
    assert web["environment"]["WEB_ENROLLMENT_URL"] == "http://enrollment:8000"
    assert "127.0.0.1:8000/healthz" in " ".join(web["healthcheck"]["test"]) and "ports" not in web
    assert "web" not in services["gateway"]["depends_on"], "the APIs do not wait for the console"
    assert "WEB_DB_PASSWORD" in services["postgres"]["environment"]
    assert (
        "for service in enrollment attendance certification placement web"
        in (ROOT / "deploy" / "postgres" / "init.sh").read_text()
    )
    nginx = (ROOT / "deploy" / "nginx" / "templates" / "default.conf.template").read_text()
    root = re.search(r"location / \{(.*?)\n    \}", nginx, re.S)
    assert root and re.search(r"set \$(\w+) web:8000;\s*proxy_pass http://\$\1;", root.group(1))


def test_kubernetes_manifest_for_the_console() -> None:
    here = ROOT / "deploy" / "k8s" / "web"
    kust = yaml.safe_load((here / "kustomization.yaml").read_text())
    assert all((here / r).is_file() for r in kust["resources"])
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all((here / "web.yaml").read_text()) if d}
    dep = docs[("Deployment", "web")]
    (c,) = dep["spec"]["template"]["spec"]["containers"]
    assert c["args"] == ["web"] and c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert dep["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert set(docs[("ConfigMap", "trainingops-web-config")]["data"]) <= FIELDS
    secret = yaml.safe_load((here / "secret.example.yaml").read_text())
    assert set(secret["stringData"]) <= FIELDS
    assert docs[("Service", "web")]["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    paths = docs[("Ingress", "trainingops-web")]["spec"]["rules"][0]["http"]["paths"]
    assert paths[0]["path"] == "/" and paths[0]["backend"]["service"]["name"] == "web"


def test_the_image_carries_the_console_and_starts_it() -> None:
    docker = (ROOT / "Dockerfile").read_text()
    assert "COPY web ./web" in docker and "web.main" in docker
    entry = (ROOT / "deploy" / "docker" / "entrypoint.sh").read_text()
    assert "web.main:create_app" in entry

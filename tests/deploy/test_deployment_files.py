"""Checks for the deployment files that cannot run here (no Docker engine, no cluster).

They parse docker-compose.yml, the Dockerfile, the nginx template, the Kubernetes
manifests and the Prometheus configuration, and hold them to what the code says: the
topic list of ``shared.events``, the settings fields of ``shared.settings``, the four
services' prefixes and port. A broken deployment file fails CI without a Docker engine.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared.events import ALL_TOPICS, DLQ_TOPICS, EVENT_TOPICS, RETRY_TOPICS, SERVICES
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "k8s" / "base"
PRODUCTION = DEPLOY / "k8s" / "overlays" / "production"
PORT = 8000

# Images from their projects' official repositories, and where they may appear.
OFFICIAL_IMAGES = {"apache/kafka", "postgres", "nginx", "prom/prometheus", "python"}
ONE_SHOT_JOBS = {"topics"}
# Helper variables a container may define only to build a settings value with $(NAME).
K8S_HELPER_VARS = {"DB_PASSWORD"}


# --------------------------------------------------------------------------- helpers


def load_yaml_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


def split_image(image: str) -> tuple[str, str | None]:
    """("apache/kafka", "4.1.0") from "apache/kafka:4.1.0"; tag None when untagged."""
    if "@" in image:
        return image.split("@", 1)[0], "digest"
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # "registry:5000/x" has no tag
        return image, None
    return name, tag


def assert_pinned(image: str, where: str) -> None:
    _, tag = split_image(image)
    assert tag, f"{where}: image {image!r} has no tag"
    assert tag != "latest", f"{where}: image {image!r} uses latest"
    assert "$" not in tag, f"{where}: image {image!r} has a variable tag"


def interpolation_default(value: str) -> str:
    """The default of a compose ``${NAME:-default}`` value, or the value itself."""
    m = re.fullmatch(r"\$\{[A-Z0-9_]+:-(.*)\}", value)
    return m.group(1) if m else value


def settings_class(service: str) -> type[ServiceSettings]:
    return importlib.import_module(f"services.{service}.settings").Settings


def platform_names() -> set[str]:
    """TRAININGOPS_<FIELD> names every service reads."""
    return {f"TRAININGOPS_{name.upper()}" for name in ServiceSettings.model_fields}


def service_names(service: str) -> set[str]:
    """Names one service reads: <SERVICE>_<FIELD> and TRAININGOPS_<FIELD> for its fields."""
    fields = settings_class(service).model_fields
    return {f"{service.upper()}_{f.upper()}" for f in fields} | {f"TRAININGOPS_{f.upper()}" for f in fields}


def read_env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path}: {line!r} is not NAME=value"
            out[key.strip()] = value.strip()
    return out


def k8s_docs(directory: Path) -> list[dict]:
    """Every resource of a kustomization's own resource and patch files (not of its bases)."""
    kust = yaml.safe_load((directory / "kustomization.yaml").read_text())
    docs: list[dict] = []
    for entry in kust.get("resources", []):
        path = directory / entry
        if path.is_file():
            docs += load_yaml_docs(path)
    return docs


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") == kind}


@pytest.fixture(scope="module")
def base_docs() -> list[dict]:
    return k8s_docs(BASE)


@pytest.fixture(scope="module")
def production_docs() -> list[dict]:
    return k8s_docs(PRODUCTION)


@pytest.fixture(scope="module")
def production_patches() -> list[dict]:
    kust = yaml.safe_load((PRODUCTION / "kustomization.yaml").read_text())
    docs: list[dict] = []
    for patch in kust.get("patches", []):
        docs += load_yaml_docs(PRODUCTION / patch["path"])
    return docs


# --------------------------------------------------------------------------- compose


def test_compose_has_the_four_services_built_from_the_dockerfile(services: dict) -> None:
    for name in SERVICES:
        assert name in services, f"{name} missing from docker-compose.yml"
        svc = services[name]
        assert svc["build"]["dockerfile"] == "Dockerfile" and svc["build"]["context"] == "."
        assert svc["environment"]["SERVICE"] == name, f"{name}: SERVICE must name the service"
        assert [str(p) for p in svc["expose"]] == [str(PORT)], f"{name}: the container listens on {PORT}"
        assert "ports" not in svc and "container_name" not in svc, (
            f"{name}: a fixed host port or name would stop `docker compose up --scale {name}=N`"
        )


def test_compose_images_are_official_and_pinned(services: dict) -> None:
    for name, svc in services.items():
        if "build" in svc:
            image = interpolation_default(svc.get("image", ""))
            assert image, f"{name}: a built service needs an image name"
            assert_pinned(image, name)
            continue
        image = svc["image"]
        repo, _ = split_image(image)
        assert repo in OFFICIAL_IMAGES, f"{name}: {image} is not from an official repository"
        assert_pinned(image, name)
    assert split_image(services["kafka"]["image"])[0] == "apache/kafka"
    assert split_image(services["postgres"]["image"])[0] == "postgres"
    repo, tag = split_image(services["gateway"]["image"])
    assert repo == "nginx" and tag and tag.endswith("-alpine"), "gateway: the official nginx image, alpine"


def test_every_long_running_container_has_a_healthcheck(services: dict) -> None:
    for name, svc in services.items():
        if name in ONE_SHOT_JOBS:
            continue
        check = svc.get("healthcheck")
        assert check and not check.get("disable"), f"{name}: no health check"
        test = check["test"]
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, f"{name}: {test}"
        assert svc.get("restart") == "unless-stopped", f"{name}: restart should be unless-stopped"


def test_service_healthchecks_use_python_urllib_on_readyz(services: dict) -> None:
    # Compose only waits on health (depends_on) and restarts nothing: "healthy" must mean "can serve its API".
    for name in SERVICES:
        test = " ".join(services[name]["healthcheck"]["test"])
        assert "urllib" in test and f"127.0.0.1:{PORT}/readyz" in test, f"{name}: {test}"
        assert "curl" not in test and "wget" not in test, f"{name}: the slim image has neither curl nor wget"


def test_depends_on_waits_for_health_or_completion(services: dict) -> None:
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: depends_on must use conditions, not a list"
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown {dep}"
            condition = spec.get("condition")
            if dep in ONE_SHOT_JOBS:
                assert condition == "service_completed_successfully", f"{name} -> {dep}: {condition}"
            else:
                assert condition == "service_healthy", f"{name} -> {dep}: {condition}"
                assert "healthcheck" in services[dep], f"{name} waits for {dep}, which has no health check"
    for name in SERVICES:
        assert set(services[name]["depends_on"]) >= {"postgres", "kafka", "topics"}, name
    assert set(services["gateway"]["depends_on"]) == set(SERVICES)
    assert "kafka" in services["topics"]["depends_on"]


def test_one_shot_topics_job_is_awaited_and_does_not_restart(services: dict) -> None:
    for job in ONE_SHOT_JOBS:
        assert services[job].get("restart", "no") == "no", f"{job} must run once"
        waiting = [n for n, s in services.items() if job in s.get("depends_on", {})]
        assert set(SERVICES) <= set(waiting), f"every service must wait for {job}"


def test_topics_job_creates_exactly_the_topics_of_shared_events(services: dict) -> None:
    env = services["topics"]["environment"]
    assert tuple(env["EVENT_TOPICS"].split()) == EVENT_TOPICS
    assert tuple(env["DLQ_TOPICS"].split()) == DLQ_TOPICS
    assert tuple(env["RETRY_TOPICS"].split()) == RETRY_TOPICS
    assert set(env["EVENT_TOPICS"].split()) | set(env["DLQ_TOPICS"].split()) | set(env["RETRY_TOPICS"].split()) == set(
        ALL_TOPICS
    )
    # partitions and retention are settings with defaults
    for var in ("TOPIC_PARTITIONS", "TOPIC_RETENTION_MS"):
        assert re.fullmatch(r"\$\{%s:-\d+\}" % var, str(env[var])), f"{var} should be ${{{var}:-<default>}}"
    script_mount = [v for v in services["topics"]["volumes"] if "create-topics.sh" in v]
    assert script_mount, "the topics job mounts deploy/kafka/create-topics.sh"
    script = (ROOT / script_mount[0].split(":")[0]).read_text()
    assert "--create --if-not-exists" in script
    for var in (
        "EVENT_TOPICS",
        "DLQ_TOPICS",
        "RETRY_TOPICS",
        "TOPIC_PARTITIONS",
        "TOPIC_RETENTION_MS",
        "BOOTSTRAP_SERVERS",
    ):
        assert f"${var}" in script or f"${{{var}" in script, f"create-topics.sh ignores {var}"
    assert services["topics"]["entrypoint"][-1].endswith(script_mount[0].split(":")[1])


def test_data_lives_in_named_volumes(compose: dict, services: dict) -> None:
    declared = set(compose.get("volumes") or {})
    for name, path in (("kafka", "/var/lib/kafka/data"), ("postgres", "/var/lib/postgresql/data")):
        mounts = {v.split(":")[1]: v.split(":")[0] for v in services[name]["volumes"]}
        assert path in mounts, f"{name}: nothing mounted at {path}"
        assert mounts[path] in declared, f"{name}: {mounts[path]} is not a named volume"
    assert services["kafka"]["environment"]["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"


def test_kafka_runs_kraft_single_node(services: dict) -> None:
    env = services["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "zookeeper" not in yaml.safe_dump(services["kafka"]).lower()
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false", "topics come from the topics job only"
    assert "kafka-broker-api-versions.sh" in " ".join(services["kafka"]["healthcheck"]["test"])
    bootstrap = read_env_file(ROOT / services["enrollment"]["env_file"][0])["TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS"]
    assert f"INTERNAL://{bootstrap}" in env["KAFKA_ADVERTISED_LISTENERS"], "services must use the internal listener"
    assert services["topics"]["environment"]["BOOTSTRAP_SERVERS"] == bootstrap


def test_postgres_makes_one_database_and_role_per_service(services: dict) -> None:
    pg = services["postgres"]
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    init = [v for v in pg["volumes"] if "/docker-entrypoint-initdb.d/" in v]
    assert init, "postgres needs the init script"
    script = (ROOT / init[0].split(":")[0]).read_text()
    assert "for service in " + " ".join(SERVICES) in script
    assert 'CREATE DATABASE :"service" OWNER :"service"' in script
    for name in SERVICES:
        url = services[name]["environment"][f"{name.upper()}_DATABASE_URL"]
        m = re.fullmatch(r"postgresql://(\w+):\$\{(\w+)(:\?[^}]*)?\}@postgres:5432/(\w+)", url)
        assert m, f"{name}: unexpected database URL {url}"
        assert m.group(1) == m.group(4) == name, f"{name} must use its own role and database"
        assert m.group(2) == f"{name.upper()}_DB_PASSWORD" and m.group(2) in pg["environment"]


def test_compose_env_names_are_settings_the_services_read(services: dict) -> None:
    for name in SERVICES:
        svc = services[name]
        names = set(svc["environment"]) - {"SERVICE"}
        for env_file in svc["env_file"]:
            names |= set(read_env_file(ROOT / env_file))
        unknown = names - service_names(name)
        assert not unknown, f"{name}: settings do not read {sorted(unknown)}"
        foreign = {n for n in names for other in SERVICES if other != name and n.startswith(other.upper() + "_")}
        assert not foreign, f"{name} gets another service's settings: {sorted(foreign)}"


def test_secrets_come_from_env_and_every_variable_is_documented(services: dict) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    documented = set(read_env_file(ROOT / ".env.example"))
    assert used - documented == set(), f".env.example does not document {sorted(used - documented)}"
    for secret in ("TRAININGOPS_JWT_SECRET", "POSTGRES_PASSWORD") + tuple(f"{s.upper()}_DB_PASSWORD" for s in SERVICES):
        assert re.search(r"\$\{%s:\?" % secret, text), f"{secret} must be required (${{{secret}:?...}})"
        assert read_env_file(ROOT / ".env.example")[secret] == "", f".env.example must not ship a value for {secret}"
    env_example_names = {n for n in documented if n.startswith("TRAININGOPS_")}
    assert env_example_names <= platform_names() | {"TRAININGOPS_IMAGE"}, sorted(env_example_names - platform_names())


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_stages() -> tuple[dict[str, str], list[tuple[str, list[str]]]]:
    """ARG defaults before the first FROM, and [(base image, instructions)] per stage."""
    text = (ROOT / "Dockerfile").read_text()
    logical: list[str] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append(buf + line)
        buf = ""
    args: dict[str, str] = {}
    stages: list[tuple[str, list[str]]] = []
    for line in logical:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "ARG" and not stages and "=" in rest:
            k, _, v = rest.partition("=")
            args[k.strip()] = v.strip()
        elif word == "FROM":
            image = rest.split()[0]
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)
            stages.append((image, []))
        elif stages:
            stages[-1][1].append(f"{word} {rest}")
    return args, stages


def test_dockerfile_is_multi_stage_from_a_pinned_slim_python() -> None:
    _, stages = dockerfile_stages()
    assert len(stages) >= 2, "builder + runtime stages"
    final_image = stages[-1][0]
    repo, tag = split_image(final_image)
    assert repo == "python" and tag, f"final stage from {final_image}"
    assert re.fullmatch(r"3\.11\.\d+-slim(-\w+)?", tag), f"pin the python 3.11 slim tag exactly, got {tag}"
    for image, _ in stages:
        assert_pinned(image, "Dockerfile FROM")
    # the runtime runs the builder's virtualenv: same interpreter, same path
    assert {image for image, _ in stages} == {final_image}, f"stages differ: {[i for i, _ in stages]}"
    final = stages[-1][1]
    assert any(i.startswith("COPY --from=") for i in final), "the runtime copies the builder's result"


def test_dockerfile_final_stage_runs_as_non_root_without_build_tools() -> None:
    _, stages = dockerfile_stages()
    final = stages[-1][1]
    users = [i.split()[1] for i in final if i.startswith("USER ")]
    assert users, "no USER in the final stage"
    assert users[-1].split(":")[0] not in ("root", "0"), f"final USER is {users[-1]}"
    runs = " ".join(i for i in final if i.startswith("RUN "))
    for tool in ("build-essential", "gcc", "g++", "make ", "libpq-dev", "apt-get install", "pip install"):
        assert tool not in runs, f"the final stage installs {tool!r}"
    builder = " ".join(" ".join(instrs) for _, instrs in stages[:-1])
    assert "pip" in builder and "/opt/venv" in builder


def test_dockerfile_healthcheck_expose_and_entrypoint() -> None:
    _, stages = dockerfile_stages()
    final = stages[-1][1]
    health = [i for i in final if i.startswith("HEALTHCHECK ")]
    assert health and "urllib.request" in health[0] and "/healthz" in health[0]
    assert "curl" not in health[0]
    assert f"EXPOSE {PORT}" in final
    entry = (DEPLOY / "docker" / "entrypoint.sh").read_text()
    assert re.search(r'SERVICES="%s"' % " ".join(SERVICES), entry), "the entrypoint knows the four services"
    assert 'uvicorn "services.${SERVICE}.main:create_app" --factory' in entry
    assert "--host 0.0.0.0" in entry and '"${PORT:-8000}"' in entry
    assert any("entrypoint.sh" in i for i in final if i.startswith("COPY"))


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    lines = [
        ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln.strip() and not ln.startswith("#")
    ]
    assert lines[0] == "**", "start from excluding everything"
    included = [ln[1:] for ln in lines if ln.startswith("!")]
    for needed in ("pyproject.toml", "shared/", "services/"):
        assert needed in included, f".dockerignore must let {needed} in"
    for never in (".env", ".venv", "data", ".git"):
        assert not any(inc.rstrip("/") == never or inc.startswith(never + "/") for inc in included), never


# --------------------------------------------------------------------------- gateway


def gateway_template() -> str:
    return (DEPLOY / "nginx" / "templates" / "default.conf.template").read_text()


def test_gateway_routes_the_four_prefixes_to_port_8000() -> None:
    text = gateway_template()
    blocks = dict(re.findall(r"location\s+(/[\w-]+/)\s*\{(.*?)\n    \}", text, re.S))
    assert set(blocks) == {f"/{s}/" for s in SERVICES}, f"gateway locations: {sorted(blocks)}"
    for service in SERVICES:
        body = blocks[f"/{service}/"]
        upstream = re.search(r"set\s+\$(\w+)\s+([\w.-]+):(\d+);", body)
        assert upstream, f"/{service}/ has no upstream"
        var, host, port = upstream.groups()
        assert (host, int(port)) == (service, PORT), f"/{service}/ goes to {host}:{port}"
        # no URI part after the variable: the path goes to the service unchanged
        assert re.search(r"proxy_pass\s+http://\$%s;" % var, body), f"/{service}/ must proxy to ${var}"


def test_gateway_cors_origin_is_a_setting(services: dict) -> None:
    text = gateway_template()
    gateway = services["gateway"]
    assert "/etc/nginx/templates" in " ".join(gateway["volumes"]), "use the official image's templates"
    env = gateway["environment"]
    used = set(re.findall(r"\$\{(\w+)\}", text))
    assert "GATEWAY_CORS_ORIGINS_REGEX" in used
    assert used <= set(env), f"template variables without a value: {sorted(used - set(env))}"
    assert all(re.match(env["NGINX_ENVSUBST_FILTER"].lstrip("^"), name) for name in used)
    assert re.search(r'"~\^\(\$\{GATEWAY_CORS_ORIGINS_REGEX\}\)\$"', text), "the origin regex must be anchored"
    assert "add_header Access-Control-Allow-Origin $cors_allow_origin always;" in text
    assert "proxy_hide_header Access-Control-Allow-Origin;" in text, "one CORS layer only"
    assert "location = /healthz" in text
    assert "/healthz" in " ".join(gateway["healthcheck"]["test"])


# --------------------------------------------------------------------------- Kubernetes


def test_kustomizations_reference_existing_files() -> None:
    for directory in (BASE, PRODUCTION):
        kust = yaml.safe_load((directory / "kustomization.yaml").read_text())
        for entry in kust.get("resources", []):
            assert (directory / entry).exists(), f"{directory}: missing {entry}"
        for patch in kust.get("patches", []):
            assert (directory / patch["path"]).is_file()
        for gen in kust.get("secretGenerator", []):
            for env in gen.get("envs", []):
                assert (directory / (env + ".example")).is_file(), f"ship {env}.example for {gen['name']}"
                ignore = (directory / env).parent / ".gitignore"
                assert ignore.is_file() and "*.env" in ignore.read_text(), f"{env} must be git-ignored"
    base = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    assert "secret.example.yaml" not in base["resources"], "the example Secret is never applied"


def containers(deployment: dict) -> list[dict]:
    return deployment["spec"]["template"]["spec"]["containers"]


def test_k8s_deployment_per_service_with_probes_resources_and_non_root(base_docs: list[dict]) -> None:
    deployments = by_kind(base_docs, "Deployment")
    assert set(deployments) == set(SERVICES)
    for name, dep in deployments.items():
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        (c,) = containers(dep)
        assert c["args"] == [name], f"{name}: the image is told which service to run"
        assert [p["containerPort"] for p in c["ports"]] == [PORT]
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][kind]), f"{name}: {kind}"
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        refs = {(k, v["name"]) for e in c["envFrom"] for k, v in e.items()}
        assert refs == {("configMapRef", "trainingops-config"), ("secretRef", "trainingops-secrets")}, name
        strategy = dep["spec"]["strategy"]
        assert strategy["type"] == "RollingUpdate" and strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_k8s_service_and_pdb_per_service_match_the_pods(base_docs: list[dict]) -> None:
    deployments = by_kind(base_docs, "Deployment")
    svcs = by_kind(base_docs, "Service")
    pdbs = by_kind(base_docs, "PodDisruptionBudget")
    assert set(svcs) == set(SERVICES) and set(pdbs) == set(SERVICES)
    for name in SERVICES:
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        selector = deployments[name]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items()
        assert svcs[name]["spec"]["selector"].items() <= labels.items(), f"Service {name} selects no pod"
        assert [p["port"] for p in svcs[name]["spec"]["ports"]] == [PORT]
        assert pdbs[name]["spec"]["selector"]["matchLabels"].items() <= labels.items(), f"PDB {name} selects no pod"
        assert "maxUnavailable" in pdbs[name]["spec"] or "minAvailable" in pdbs[name]["spec"]


def test_k8s_images_are_pinned(base_docs: list[dict], production_docs: list[dict]) -> None:
    for dep in by_kind(base_docs, "Deployment").values():
        for c in containers(dep):
            assert_pinned(c["image"], f"Deployment {dep['metadata']['name']}")
    for cluster in by_kind(production_docs, "Cluster").values():
        assert_pinned(cluster["spec"]["imageName"], "CloudNativePG Cluster")
    kust = yaml.safe_load((PRODUCTION / "kustomization.yaml").read_text())
    for image in kust.get("images", []):
        assert image.get("newTag") and image["newTag"] != "latest", image


def test_k8s_env_names_are_settings_the_services_read(base_docs: list[dict], production_patches: list[dict]) -> None:
    configmaps = [d for d in base_docs + production_patches if d["kind"] == "ConfigMap"]
    assert configmaps
    for cm in configmaps:
        unknown = set(cm["data"]) - platform_names()
        assert not unknown, f"ConfigMap {cm['metadata']['name']}: settings do not read {sorted(unknown)}"
    for name, dep in by_kind(base_docs, "Deployment").items():
        (c,) = containers(dep)
        env = {e["name"]: e for e in c.get("env", [])}
        values = " ".join(e.get("value", "") for e in env.values())
        for var in env:
            if var in K8S_HELPER_VARS:
                assert f"$({var})" in values, f"{name}: helper {var} is not used"
                continue
            assert var in service_names(name), f"{name}: settings do not read {var}"
        assert f"{name.upper()}_DATABASE_URL" in env
    secret_keys = set(read_env_file(PRODUCTION / "secrets" / "trainingops.env.example"))
    example = by_kind(load_yaml_docs(BASE / "secret.example.yaml"), "Secret")["trainingops-secrets"]
    # the shared Secret reaches every service: a key may be one service's own setting (ATTENDANCE_QR_SECRET)
    readable = platform_names().union(*(service_names(s) for s in SERVICES))
    for keys in (secret_keys, set(example["stringData"])):
        assert keys and keys <= readable, f"secret keys not read by the settings: {sorted(keys - readable)}"


def test_k8s_production_scales_every_service_out(production_patches: list[dict]) -> None:
    deployments = by_kind(production_patches, "Deployment")
    assert set(deployments) == set(SERVICES)
    for name, dep in deployments.items():
        assert dep["spec"]["replicas"] >= 2, f"{name}: at least two replicas in production"


def test_kafka_topics_match_shared_events(production_docs: list[dict], production_patches: list[dict]) -> None:
    topics = by_kind(production_docs, "KafkaTopic")
    names = [t["spec"].get("topicName", t["metadata"]["name"]) for t in topics.values()]
    assert sorted(names) == sorted(ALL_TOPICS)
    kafka = next(iter(by_kind(production_docs, "Kafka")))
    most_replicas = max(d["spec"]["replicas"] for d in by_kind(production_patches, "Deployment").values())
    for topic in topics.values():
        assert topic["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka
        spec = topic["spec"]
        assert spec["replicas"] == 3, topic["metadata"]["name"]
        assert int(spec["config"]["min.insync.replicas"]) == 2, topic["metadata"]["name"]
        assert spec["partitions"] >= most_replicas, "every consumer replica needs a partition"


def test_strimzi_kafka_has_three_kraft_brokers(production_docs: list[dict], base_docs: list[dict]) -> None:
    (kafka,) = by_kind(production_docs, "Kafka").values()
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1beta2"
    assert "zookeeper" not in kafka["spec"]
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    pools = by_kind(production_docs, "KafkaNodePool").values()
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    controllers = sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"])
    assert brokers == 3 and controllers >= 3
    assert all(p["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"] for p in pools)
    config = kafka["spec"]["kafka"]["config"]
    assert int(config["min.insync.replicas"]) == 2 and int(config["default.replication.factor"]) == 3
    plain = next(li for li in kafka["spec"]["kafka"]["listeners"] if not li["tls"])
    cm = by_kind(base_docs, "ConfigMap")["trainingops-config"]["data"]
    assert cm["TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS"] == f"{kafka['metadata']['name']}-kafka-bootstrap:{plain['port']}"


def test_cloudnativepg_cluster_has_a_database_per_service(production_docs: list[dict], base_docs: list[dict]) -> None:
    (cluster,) = by_kind(production_docs, "Cluster").values()
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["spec"]["instances"] == 3
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    owners = {initdb["database"]: (initdb["owner"], initdb["secret"]["name"])}
    roles = {r["name"]: r["passwordSecret"]["name"] for r in cluster["spec"]["managed"]["roles"]}
    for db in by_kind(production_docs, "Database").values():
        assert db["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
        owners[db["spec"]["name"]] = (db["spec"]["owner"], roles[db["spec"]["owner"]])
    assert set(owners) == set(SERVICES)
    host = f"{cluster['metadata']['name']}-rw:5432"
    for name, dep in by_kind(base_docs, "Deployment").items():
        (c,) = containers(dep)
        env = {e["name"]: e for e in c["env"]}
        url = env[f"{name.upper()}_DATABASE_URL"]["value"]
        assert url == f"postgresql://{owners[name][0]}:$(DB_PASSWORD)@{host}/{name}", url
        ref = env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == owners[name][1], f"{name} reads another password than its role has"


def test_ingress_routes_the_four_prefixes(production_docs: list[dict]) -> None:
    (ingress,) = by_kind(production_docs, "Ingress").values()
    paths = {p["path"]: p["backend"]["service"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    assert set(paths) == {f"/{s}/" for s in SERVICES}
    for service in SERVICES:
        assert paths[f"/{service}/"] == {"name": service, "port": {"number": PORT}}


def test_prometheus_scrapes_the_four_services(
    services: dict, base_docs: list[dict], production_docs: list[dict]
) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "trainingops")
    (sd,) = job["dns_sd_configs"]  # every replica of a scaled compose service
    assert set(sd["names"]) == set(SERVICES) and sd["port"] == PORT and sd["type"] == "A"
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert set(SERVICES) <= set(services)
    for rule_file in config.get("rule_files", []):
        assert (DEPLOY / "prometheus" / rule_file).is_file()
    for dep in by_kind(base_docs, "Deployment").values():
        ann = dep["spec"]["template"]["metadata"]["annotations"]
        assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/port"] == str(PORT)
    (monitor,) = by_kind(production_docs, "ServiceMonitor").values()
    for svc in by_kind(base_docs, "Service").values():
        assert monitor["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
        assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in svc["spec"]["ports"]}


def test_watched_metrics_exist_in_the_code() -> None:
    code = (ROOT / "shared" / "metrics.py").read_text()
    readme = (DEPLOY / "README.md").read_text()
    alerts = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    named = set(re.findall(r"trainingops_[a-z_]+", readme + alerts))
    named = {re.sub(r"_(bucket|count|sum)$", "", n) for n in named}
    assert len(named) >= 7, named
    missing = {n for n in named if f'"{n}"' not in code}
    assert not missing, f"deploy/README.md or alerts.yml name metrics shared/metrics.py does not define: {missing}"


def _resolve_without_kubectl(overlay: Path) -> list[dict]:
    """A small stand-in for `kubectl kustomize` where kubectl is not installed: follows `resources`,
    checks that every patch and generator file exists and that each patch names an object it can patch."""
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    docs: list[dict] = []
    for resource in kustomization.get("resources", []):
        target = (overlay / resource).resolve()
        if target.is_dir():
            docs += _resolve_without_kubectl(target)
        else:
            assert target.exists(), f"{overlay}: resource {resource} does not exist"
            docs += [d for d in yaml.safe_load_all(target.read_text()) if d]
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for patch in kustomization.get("patches", []):
        path = overlay / patch["path"]
        assert path.exists(), f"{overlay}: patch {patch['path']} does not exist"
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                assert (doc["kind"], doc["metadata"]["name"]) in names, f"{path} patches nothing: {doc['metadata']}"
    for generator in kustomization.get("secretGenerator", []) + kustomization.get("configMapGenerator", []):
        for env in generator.get("envs", []):
            assert (overlay / env).exists(), f"{overlay}: generator file {env} does not exist"
    return docs


def test_kustomize_builds_base_and_production(tmp_path: Path) -> None:
    tree = tmp_path / "k8s"
    shutil.copytree(DEPLOY / "k8s", tree)
    for example in (tree / "overlays" / "production" / "secrets").glob("*.env.example"):
        example.with_suffix("").write_text(
            example.read_text().replace("=\n", "=placeholder0123456789abcdef0123456789\n")
        )
    for overlay in (tree / "base", tree / "overlays" / "production"):
        if shutil.which("kubectl"):
            out = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, timeout=120)
            assert out.returncode == 0, out.stderr
            kinds = [d["kind"] for d in yaml.safe_load_all(out.stdout) if d]
        else:
            kinds = [d["kind"] for d in _resolve_without_kubectl(overlay)]
        assert kinds.count("Deployment") == 4 and kinds.count("PodDisruptionBudget") == 4

# syntax=docker/dockerfile:1
# One image for the four TrainingOps services. Pick the service with SERVICE=<name>
# or as the first argument:  docker run trainingops enrollment
# Any other command runs as given:  docker run trainingops trainingops dlq list enrollment
#
# Both stages use the same pinned base so the virtualenv copied from the builder
# finds the same interpreter at the same path.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# ---------------------------------------------------------------------------
# builder: compilers and headers live here only; it produces /opt/venv.
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

# build-essential is here for any dependency that ships only as an sdist; it never
# reaches the runtime stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Dependencies first (pinned in pyproject.toml), so a code change does not
# re-download them: build wheels for everything, then install the project itself.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt
RUN pip wheel --wheel-dir /wheels -r /tmp/requirements.txt \
 && pip install --no-index --find-links /wheels -r /tmp/requirements.txt

COPY shared ./shared
COPY services ./services
COPY web ./web
# the operator tools: the `trainingops` command (dlq list / replay, token, import, export, demo)
COPY trainingops ./trainingops
# Non-editable install: the code, the Alembic migrations (env.py, versions/, the
# .mako template) and the package data end up in site-packages.
RUN pip install --no-deps . \
 && python -c "import services.enrollment.main, services.attendance.main, services.certification.main, services.placement.main, web.main, trainingops.cli"

# ---------------------------------------------------------------------------
# runtime: the slim base, the virtualenv and an unprivileged user. No compilers.
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="trainingops" \
      org.opencontainers.image.description="TrainingOps services: enrollment, attendance, certification, placement"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8000 \
    TRAININGOPS_DATA_DIR=/app/data

RUN groupadd --system --gid 10001 trainingops \
 && useradd --system --uid 10001 --gid trainingops --home-dir /app --shell /usr/sbin/nologin trainingops \
 && mkdir -p /app/data \
 && chown -R trainingops:trainingops /app

COPY --from=builder /opt/venv /opt/venv
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/trainingops-entrypoint

WORKDIR /app
USER 10001:10001

EXPOSE 8000

# Liveness of the process; readiness (database + broker) is /readyz, used by the orchestrator.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

ENTRYPOINT ["trainingops-entrypoint"]
CMD []

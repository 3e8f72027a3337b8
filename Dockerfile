# Lockdesk's production image. One image, one part per container (compose.yaml):
#   migrate (once per release) · web (gunicorn gthread) · worker (flask worker) · celery-worker · celery-beat
# Every part runs `python -m deploy.run PART`, the same command `make stack` runs in CI's end-to-end test.
# The base image is a build argument. Production builds pin it by digest:
#   docker build --build-arg PYTHON_IMAGE=python:3.11.7-slim-bookworm@sha256:<digest> .
# The default below names a patch release only: the digest has to be read from the registry where the image
# is built, and CI cannot look it up or verify it (its machines reach no image registry).
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/lockdesk
COPY requirements/app.lock /tmp/app.lock
# Every dependency from the lock, each checked against its hash.
RUN /opt/lockdesk/bin/pip install --require-hashes -r /tmp/app.lock

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/lockdesk/bin:$PATH PYTHONPATH=/srv/lockdesk \
    LOCKDESK_ENV=production LOCKDESK_INSTANCE_PATH=/var/lib/lockdesk \
    PROMETHEUS_MULTIPROC_DIR=/tmp/lockdesk-metrics CELERY_BEAT_SCHEDULE=/var/lib/lockdesk/celerybeat-schedule \
    BIND=0.0.0.0:8000
RUN useradd --system --uid 10001 --home-dir /var/lib/lockdesk lockdesk \
    && mkdir -p /var/lib/lockdesk /tmp/lockdesk-metrics && chown lockdesk /var/lib/lockdesk /tmp/lockdesk-metrics
COPY --from=build /opt/lockdesk /opt/lockdesk
WORKDIR /srv/lockdesk
COPY app ./app
COPY incidents ./incidents
COPY verification ./verification
COPY chain ./chain
COPY kernel ./kernel
COPY exchange_sim ./exchange_sim
COPY migrations ./migrations
COPY deploy ./deploy
USER lockdesk
EXPOSE 8000
# Ready means the database answers (GET /readyz); compose turns this off for the parts that serve no HTTP.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
ENTRYPOINT ["python", "-m", "deploy.run"]
CMD ["web"]

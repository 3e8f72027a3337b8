# Production image: gunicorn serving the app; migrations run before the first request is taken.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    LOCKDESK_INSTANCE_PATH=/var/lib/lockdesk \
    PROMETHEUS_MULTIPROC_DIR=/tmp/lockdesk-metrics
WORKDIR /srv/lockdesk

COPY pyproject.toml README.md ./
COPY app ./app
COPY incidents ./incidents
COPY verification ./verification
COPY chain ./chain
COPY migrations ./migrations
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/lockdesk lockdesk \
    && mkdir -p /var/lib/lockdesk /tmp/lockdesk-metrics && chown lockdesk /var/lib/lockdesk /tmp/lockdesk-metrics

USER lockdesk
EXPOSE 8000
CMD ["sh", "-c", "flask --app app db upgrade && exec gunicorn -c python:app.gunicorn_config --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-4} --access-logfile - 'app:create_app()'"]

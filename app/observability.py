"""Request ids, JSON logs and Prometheus metrics."""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from celery.signals import setup_logging
from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

HTTP_REQUESTS = Counter("lockdesk_http_requests_total", "HTTP requests answered",
                        ["method", "endpoint", "status"])
HTTP_LATENCY = Histogram("lockdesk_http_request_seconds", "Time to answer an HTTP request",
                         ["method", "endpoint"])
REPORTS = Counter("lockdesk_reports_total", "Reports taken", ["outcome"])
ANOMALIES = Counter("lockdesk_anomalies_total", "Risk-engine events taken", ["action"])


# The incident a background job is working on (a dispatched command's), for its log lines.
CURRENT_INCIDENT: ContextVar[str | None] = ContextVar("lockdesk_incident", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; control characters escaped, so log lines cannot be forged."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record with its request and incident ids."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "incident_id": getattr(record, "incident_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=True, default=str)


class RequestIdFilter(logging.Filter):
    """Stamp every record with the current request's id and the incident it concerns, where there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach the ids: from the request inside one, else from the job's context."""
        incident = getattr(record, "incident_id", None) or CURRENT_INCIDENT.get()
        try:
            record.request_id = g.get("request_id")
            incident = incident or (request.view_args or {}).get("incident_id")
        except RuntimeError:
            record.request_id = None
        record.incident_id = str(incident) if incident else None
        return True


@contextmanager
def incident_context(incident_id) -> Iterator[None]:
    """Log lines written inside the block name this incident."""
    token = CURRENT_INCIDENT.set(str(incident_id) if incident_id else None)
    try:
        yield
    finally:
        CURRENT_INCIDENT.reset(token)


def configure_logging(level: str) -> None:
    """JSON lines on stderr from the root logger, so gunicorn's, Celery's and every library's lines are JSON."""
    root = logging.getLogger()
    if not any(isinstance(handler.formatter, JsonFormatter) for handler in root.handlers):
        for handler in list(root.handlers):
            if type(handler) is logging.StreamHandler:  # a plain-text console handler someone installed first
                root.removeHandler(handler)
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("lockdesk").setLevel(level)


@setup_logging.connect
def _celery_logs_as_json(**_kwargs) -> None:
    """A Celery worker or beat writes its lines through the root logger as JSON too (connected, this
    signal stops Celery installing its own text handlers)."""
    import os

    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))


def _start_request() -> None:
    """Adopt a well-formed incoming X-Request-Id or make one."""
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if REQUEST_ID_PATTERN.fullmatch(incoming) else uuid.uuid4().hex
    g.started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    """Send the request id back and count the request."""
    response.headers["X-Request-Id"] = g.get("request_id", "")
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    HTTP_REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    if "started" in g:
        HTTP_LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - g.started)
    return response


def metrics_response() -> Response:
    """The Prometheus exposition of this process (or of all gunicorn workers in multiprocess mode)."""
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import CollectorRegistry, multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Hook request ids and metrics into the request cycle."""
    configure_logging(app.config["LOG_LEVEL"])
    app.before_request(_start_request)
    app.after_request(_finish_request)

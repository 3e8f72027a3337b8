"""Request ids, JSON logs and Prometheus metrics."""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

HTTP_REQUESTS = Counter("lockdesk_http_requests_total", "HTTP requests answered",
                        ["method", "endpoint", "status"])
HTTP_LATENCY = Histogram("lockdesk_http_request_seconds", "Time to answer an HTTP request",
                         ["method", "endpoint"])
REPORTS = Counter("lockdesk_reports_total", "Reports taken", ["outcome"])
ANOMALIES = Counter("lockdesk_anomalies_total", "Risk-engine events taken", ["action"])


class JsonFormatter(logging.Formatter):
    """One JSON object per line; control characters escaped, so log lines cannot be forged."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record with its request id."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=True, default=str)


class RequestIdFilter(logging.Filter):
    """Stamp every record with the current request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach the id when inside a request."""
        try:
            record.request_id = g.get("request_id")
        except RuntimeError:
            record.request_id = None
        return True


def configure_logging(level: str) -> None:
    """JSON lines on stderr for the lockdesk loggers."""
    logger = logging.getLogger("lockdesk")
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


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

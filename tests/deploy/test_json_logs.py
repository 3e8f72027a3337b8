"""Logs are JSON lines from the root logger: every library's lines, with the request id and the incident id."""
from __future__ import annotations

import io
import json
import logging
import uuid

import pytest

from app.observability import JsonFormatter, _start_request, configure_logging, incident_context


@pytest.fixture
def log_lines():
    """What the root logger's JSON handler writes, as parsed lines."""
    configure_logging("INFO")
    handler = next(h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


def test_a_line_from_gunicorn_or_celery_is_json(log_lines):
    logging.getLogger("gunicorn.error").info("Booting worker with pid: %s", 42)
    logging.getLogger("celery.worker.strategy").info("Task received")
    lines = log_lines()
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("gunicorn.error", "Booting worker with pid: 42"), ("celery.worker.strategy", "Task received")]
    assert all(line["level"] == "INFO" and line["time"].endswith("+00:00") for line in lines)


def test_a_line_inside_a_request_carries_its_request_id_and_incident_id(app, log_lines):
    incident = uuid.uuid4()
    with app.test_request_context(f"/api/v1/incidents/{incident}", headers={"X-Request-Id": "req-12345678"}):
        _start_request()  # what the application's before_request does first
        logging.getLogger("lockdesk.test").warning("looking at a case")
    (line,) = log_lines()
    assert line["request_id"] == "req-12345678" and line["incident_id"] == str(incident)


def test_a_background_job_names_the_incident_it_works_on(log_lines):
    incident = uuid.uuid4()
    with incident_context(incident):
        logging.getLogger("lockdesk.jobs").error("the exchange refused")
    logging.getLogger("lockdesk.jobs").error("between jobs")
    first, second = log_lines()
    assert first["incident_id"] == str(incident) and second["incident_id"] is None


def test_a_forged_newline_stays_inside_one_line(log_lines):
    logging.getLogger("lockdesk.test").info("account\n{\"level\": \"CRITICAL\"}")
    assert len(log_lines()) == 1

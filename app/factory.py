"""The composition root: configuration, database, extensions, blueprints, adapters."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask
from flask_smorest import Api

from app import (
    adapters,
    api_docs,
    audit_anchor,
    conversation,
    edge,
    errors,
    jobs,
    jobs_tracing,
    notify,
    observability,
    peers,
    production,
    security_headers,
    web,
)
from app import config as settings
from app.db import FieldCipher, make_engine, make_sessionmaker
from app.extensions import Runtime, close_session, limiter
from app.secrets import fill_missing, missing, split_keys


class LockdeskApi(Api):
    """flask-smorest with our problem+json errors."""

    def handle_http_exception(self, error):
        """Answer HTTP errors as problem documents."""
        return errors.handle_http_exception(error)


def build_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and wire the application."""
    app = Flask("app", instance_path=os.environ.get("LOCKDESK_INSTANCE_PATH") or None,
                instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(settings.from_environment(app.instance_path))
    app.config.update(test_config or {})
    production.enforce(app.config, generated=missing(app.config))
    fill_missing(app.config, app.instance_path)
    _derive(app)
    security_headers.init_app(app)
    FieldCipher.install(split_keys(app.config["FIELD_ENCRYPTION_KEY"]))
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["lockdesk"] = Runtime(engine=engine, sessions=make_sessionmaker(engine))
    adapters.init_app(app)
    jobs_tracing.init_app(app)
    notify.init_app(app)
    conversation.init_app(app)
    peers.init_app(app)
    jobs.init_app(app)
    audit_anchor.init_app(app)
    observability.init_app(app)
    errors.init_app(app)
    edge.init_app(app)
    app.teardown_appcontext(close_session)
    limiter.init_app(app)
    _register_api(app)
    _register_cli(app)
    web.init_app(app)
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_HOPS proxies, the client address and scheme are what the nearest of them saw.

    Only that many X-Forwarded-For/-Proto entries, counted from the right, are believed: a client's own
    forged entries sit further left and are ignored; with no hops configured nothing is believed.
    """
    from werkzeug.middleware.proxy_fix import ProxyFix

    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops < 0:
        raise ValueError("TRUSTED_PROXY_HOPS must be 0 or more")
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _derive(app: Flask) -> None:
    """Settings computed from others."""
    config = app.config
    config["ANOMALY_WEBHOOK_SECRETS"] = split_keys(config["ANOMALY_WEBHOOK_SECRET"])
    config["RATELIMIT_STORAGE_URI"] = config["RATELIMIT_STORAGE_URI"]
    config.setdefault("RATELIMIT_ENABLED", True)
    config.update(
        API_TITLE="Lockdesk", API_VERSION="v1", OPENAPI_VERSION="3.0.3", OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",  # the docs page is app.api_docs, from the installed package
    )


def _register_api(app: Flask) -> None:
    """The JSON API and the operations endpoints."""
    from app.api import (
        anomalies,
        anomaly_batch,
        audit,
        evidence,
        incidents,
        instance,
        messages,
        openapi_docs,
        peers,
        operations,
        reports,
        repudiations,
        traces,
        unfreeze,
        verifications,
    )
    from app.auth import authenticate_api_request

    api = LockdeskApi(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    openapi_docs.install(api.spec)  # problem+json errors and bearer security in the document
    api.ma_plugin.converter.add_attribute_function(openapi_docs.text_rule)
    app.before_request(authenticate_api_request)  # a private route's token is checked before its body
    for module in (reports, anomalies, anomaly_batch, incidents, messages, verifications, traces, audit, unfreeze, repudiations,
                   instance, evidence, peers):
        api.register_blueprint(module.blp)
    openapi_docs.finish(api.spec, traced_chains=frozenset(app.extensions["lockdesk"].ports.explorers))
    app.register_blueprint(operations.blp)
    api_docs.init_app(app)
    if str(settings.setting(app.config, "BENCH_FLOOR", "")).lower() in ("1", "true", "yes"):  # the bench only
        from app.api.floor import blp as floor_blp
        app.register_blueprint(floor_blp)
    app.extensions["lockdesk_api"] = api


def _register_cli(app: Flask) -> None:
    """Command-line groups."""
    from app import cli

    cli.init_app(app)

"""Lockdesk: the Flask face of the incident-response service."""


def create_app(test_config: dict | None = None):
    """Build the Flask application (imported lazily so domains can import app.db cheaply)."""
    from app.factory import build_app

    return build_app(test_config)

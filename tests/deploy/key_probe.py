"""A gunicorn application that notes, per worker, the field-encryption key it was built with."""
import os
from pathlib import Path

from app import create_app

app = create_app()
Path(os.environ["KEY_PROBE_DIR"], f"{os.getpid()}.key").write_text(app.config["FIELD_ENCRYPTION_KEY"])

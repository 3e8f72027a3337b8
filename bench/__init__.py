"""The bench: the real stack (gunicorn, PostgreSQL and SQLite, the exchange over HTTP, anvil) under load."""

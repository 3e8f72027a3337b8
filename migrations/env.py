"""Alembic environment: one metadata for every domain's tables."""
from __future__ import annotations

import importlib

from alembic import context

from app.db import Base, make_engine

MODEL_MODULES = ("incidents.models", "app.idempotency_record", "incidents.checkpoints",
                 "incidents.conversation.models", "incidents.exchange.models", "exchange_sim.models",
                 "incidents.handoff.models", "verification.models", "chain.models")

for module in MODEL_MODULES:
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise

target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Migrate the database named by sqlalchemy.url."""
    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def run_migrations_offline() -> None:
    """Print the SQL instead of running it."""
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

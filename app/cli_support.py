"""What every command group shares: how a domain refusal ends a command."""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import click

from kernel.errors import DomainError

T = TypeVar("T")


def or_exit(call: Callable[[], T]) -> T:
    """Run a use case; print a domain refusal and exit 2."""
    try:
        return call()
    except DomainError as error:
        click.echo(f"error: {error.detail}", err=True)
        sys.exit(2)

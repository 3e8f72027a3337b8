"""Keep the garbage collector's full passes short in long-running processes.

Start-up (Flask, SQLAlchemy's mappers, web3, marshmallow schemas) leaves about 190,000 objects that
live as long as the process. CPython's full collection walks every tracked object, about 120 ms on
the bench machine, and every thread of the process waits while it runs: under load that pause lands
on whichever requests are in flight, as a tail of slow answers. `gc.freeze()` moves what exists into
a generation the collector never walks again, so a full pass covers only what was made since.
Reference cycles among the frozen objects are never reclaimed, which is why this runs once, after
start-up, in processes that serve until they stop, and never in the test suite's many short-lived apps.
"""
from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect start-up's garbage, then freeze what survives; the number of objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()

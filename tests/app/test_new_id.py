"""Ids drawn from a per-thread pool of the OS's random bytes are still unique across threads and forks."""
from __future__ import annotations

import os
import threading
import uuid

from app.db import new_id


def test_ids_are_version_4_and_distinct_across_threads():
    drawn: list[uuid.UUID] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [new_id() for _ in range(600)]  # more than one pool's worth
        with lock:
            drawn.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(drawn)) == 2400 and all(each.version == 4 for each in drawn)


def test_a_child_forked_from_any_thread_never_repeats_its_parents_next_ids():
    answers: dict[str, list[str]] = {}

    def fork_here() -> None:
        new_id()  # this thread's pool is started: a child that kept it would repeat what follows
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its next ids, to the parent
            os.close(read)
            os.write(write, ",".join(str(new_id()) for _ in range(5)).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            answers["child"] = pipe.read().split(",")
        os.waitpid(pid, 0)
        answers["parent"] = [str(new_id()) for _ in range(5)]

    thread = threading.Thread(target=fork_here)  # not the main thread: no at-fork hook of the main thread helps
    thread.start()
    thread.join()
    assert len(answers["child"]) == 5 and not set(answers["child"]) & set(answers["parent"])

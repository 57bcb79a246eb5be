"""Group commit for SQLite: one writer thread, several notifications per transaction, one fsync per batch.

SQLite has a single writer and, with ``synchronous=FULL``, every commit waits for the disk. A burst of
notifications handled one transaction each is therefore bounded by the fsync rate. Here the event loop
hands each verified notification to one writer thread; the thread takes everything queued meanwhile (up
to ``max_batch``), runs each use case inside its own SAVEPOINT of ONE ``BEGIN IMMEDIATE`` transaction
(a failing notification rolls back alone), commits once, and only then resolves the callers' futures:
no reply leaves before the state it reports is durable. If the commit fails, every caller of that batch
gets the error (WeChat delivers again). Exactly-once is unchanged: the use case's unique inserts and
compare-and-set updates run on the same connection, so a duplicate later in the batch sees the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa

from ..db import Transaction

__all__ = ["BatchUnitOfWork", "GroupCommitWriter"]

log = logging.getLogger("weipay.service.group_commit")

T = TypeVar("T")


class BatchUnitOfWork:
    """The unit of work a use case sees inside a batch: its ``write()``/``read()`` share the batch transaction.

    Committing is the writer's job, after every notification of the batch ran.
    """

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Transaction]:
        """The batch transaction (inside this notification's savepoint)."""
        yield Transaction(self._conn)

    @contextlib.contextmanager
    def read(self) -> Iterator[Transaction]:
        """Reads see the batch's own writes."""
        yield Transaction(self._conn)


@dataclass
class _Job:
    work: Callable[[BatchUnitOfWork], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


def _resolve(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():  # the caller went away (client disconnected)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class GroupCommitWriter:
    """Runs ``work(uow)`` callables on one thread, batched into shared transactions.

    ``lock`` is taken around each batch so that other in-process writers (API requests on other threads)
    queue behind it instead of spinning in SQLite's busy handler.
    """

    def __init__(self, engine: sa.Engine, lock: contextlib.AbstractContextManager[Any], max_batch: int = 128) -> None:
        self._engine = engine
        self._lock = lock
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def submit(self, work: Callable[[BatchUnitOfWork], T]) -> T:
        """Run ``work`` in the next batch; returns its result once the batch has committed."""
        self._ensure_started()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(work, future, loop))
        return await future

    def close(self) -> None:
        """Finish queued work and stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(10)
            self._thread = None

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="weipay-group-commit", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._queue.put(None)
                    break
                batch.append(job)
            self._run_batch(batch)

    def _run_batch(self, batch: list[_Job]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            with self._lock, self._engine.connect() as conn, conn.begin():
                uow = BatchUnitOfWork(conn)
                # Savepoints on the driver's cursor: SQLAlchemy's begin_nested() costs more than the statement.
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                for job in batch:
                    cursor.execute("SAVEPOINT notification")
                    try:
                        value = job.work(uow)
                    except Exception as error:  # this notification alone is undone; the batch goes on
                        cursor.execute("ROLLBACK TO SAVEPOINT notification")
                        cursor.execute("RELEASE SAVEPOINT notification")
                        outcomes.append((None, error))
                    else:
                        cursor.execute("RELEASE SAVEPOINT notification")
                        outcomes.append((value, None))
                cursor.close()
        except Exception as error:  # the commit (or BEGIN) failed: nothing of this batch is durable
            log.exception("group commit of %d notifications failed", len(batch))
            outcomes = [(None, error)] * len(batch)
        for job, (value, failure) in zip(batch, outcomes, strict=True):
            job.loop.call_soon_threadsafe(_resolve, job.future, value, failure)

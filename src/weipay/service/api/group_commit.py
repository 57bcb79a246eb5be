"""Group commit: writer threads, several notifications per transaction, one commit (one fsync) per batch.

SQLite has a single writer and, with ``synchronous=FULL``, every commit waits for the disk; PostgreSQL
flushes its WAL at every commit and each statement is a round trip. A burst of notifications handled one
transaction each is therefore bounded by the commit rate. Here the event loop hands each verified
notification to the writer threads (one for SQLite, a few for PostgreSQL so that round trips overlap); a
thread takes everything queued meanwhile (up to ``max_batch``), runs each use case in ONE write
transaction, commits once, and only then resolves the callers' futures: no reply leaves before the state
it reports is durable. If a use case raises, the batch is rolled back and its notifications are run again
one transaction each, so a failure costs only its own reply (500: WeChat delivers again); if the commit
fails, every caller of that batch gets the error. Exactly-once is unchanged: the use case's unique inserts and
compare-and-set updates run on the same connection, so a duplicate later in the batch sees the first; a
duplicate in another thread's batch waits on the unique event id until that batch commits (PostgreSQL;
should two batches ever deadlock on crossed duplicates, PostgreSQL aborts one of them, which is then run
one notification per transaction). Inside a batch on PostgreSQL, the writes nobody reads the answer of (the
inbox outcome, the call-log row) are merged into one statement (``weipay.service.db.deferred_writes``); what
is still waiting is sent before the commit, and an error there re-runs the batch one notification at a time.
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

from ..db import Transaction, deferred_writes, flush_deferred

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
        """The batch transaction."""
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

    def __init__(
        self,
        engine: sa.Engine,
        lock: contextlib.AbstractContextManager[Any],
        *,
        threads: int = 1,
        max_batch: int = 128,
    ) -> None:
        self._engine = engine
        self._lock = lock
        self._threads_wanted = threads
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()

    async def submit(self, work: Callable[[BatchUnitOfWork], T]) -> T:
        """Run ``work`` in the next batch; returns its result once the batch has committed."""
        self._ensure_started()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(work, future, loop))
        return await future

    def close(self) -> None:
        """Finish queued work and stop the threads."""
        with self._start_lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(10)

    def _ensure_started(self) -> None:
        if not self._threads:
            with self._start_lock:
                if not self._threads:
                    for index in range(self._threads_wanted):
                        thread = threading.Thread(target=self._run, name=f"weipay-group-commit-{index}", daemon=True)
                        thread.start()
                        self._threads.append(thread)

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
        try:
            outcomes = self._transaction(batch)
        except _JobFailed:
            # Something in the batch failed: the whole transaction was rolled back. Run each notification
            # alone, so that one bad message (or a crossed duplicate) costs only its own reply.
            outcomes = []
            for job in batch:
                try:
                    outcomes.extend(self._transaction([job]))
                except _JobFailed as failed:
                    outcomes.append((None, failed.error))
                except Exception as error:
                    outcomes.append((None, error))
        except Exception as error:  # BEGIN or COMMIT failed: nothing of this batch is durable
            log.exception("group commit of %d notifications failed", len(batch))
            outcomes = [(None, error)] * len(batch)
        for job, (value, failure) in zip(batch, outcomes, strict=True):
            job.loop.call_soon_threadsafe(_resolve, job.future, value, failure)

    def _transaction(self, batch: list[_Job]) -> list[tuple[Any, BaseException | None]]:
        """Every job of ``batch`` in one transaction, committed; ``_JobFailed`` (rolled back) if one raises."""
        with self._lock, self._engine.connect() as conn, conn.begin(), deferred_writes(conn):
            uow = BatchUnitOfWork(conn)
            values = []
            for job in batch:
                try:
                    values.append(job.work(uow))
                except Exception as error:
                    raise _JobFailed(error) from error
            try:
                # The last writes nobody read yet; an error here may be any job's, so the batch is re-run.
                flush_deferred(conn)
            except Exception as error:
                raise _JobFailed(error) from error
        return [(value, None) for value in values]


class _JobFailed(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error

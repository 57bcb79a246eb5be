"""Group commit: writer threads, a batch of notifications per transaction, one commit (one fsync) per batch.

SQLite has a single writer and, with ``synchronous=FULL``, every commit waits for the disk; PostgreSQL
flushes its WAL at every commit and each statement is a round trip. A burst of notifications handled one
transaction each is therefore bounded by the commit rate. Here the event loop hands each verified
notification to the writer threads (one for SQLite, a few for PostgreSQL so that round trips overlap); a
thread takes everything queued meanwhile (up to ``max_batch``), applies the batch in ONE write transaction
(``apply(uow, items)``: the use case takes the whole batch, so that each of its steps is one statement for
all of it), commits once, and only then resolves the callers' futures: no reply leaves before the state it
reports is durable. If applying raises, the batch is rolled back and its items are applied again one
transaction each, so a failure costs only its own reply (500: WeChat delivers again); if the commit fails,
every caller of that batch gets the error. Exactly-once is unchanged: a duplicate in another thread's batch
waits on the unique event id until that batch commits (PostgreSQL; should two batches ever deadlock on
crossed duplicates, PostgreSQL aborts one of them, which is then applied one item per transaction).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from .uow import SqlStores

__all__ = ["BatchUnitOfWork", "GroupCommitWriter"]

log = logging.getLogger("weipay.service.group_commit")

T = TypeVar("T")
R = TypeVar("R")


class BatchUnitOfWork:
    """The unit of work a use case sees inside a batch: its ``write()``/``read()`` share the batch transaction.

    Committing is the writer's job, after the whole batch was applied.
    """

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    @contextlib.contextmanager
    def write(self) -> Iterator[SqlStores]:
        """The batch transaction."""
        yield SqlStores(self._conn)

    @contextlib.contextmanager
    def read(self) -> Iterator[SqlStores]:
        """Reads see the batch's own writes."""
        yield SqlStores(self._conn)


@dataclass
class _Job:
    item: Any
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


def _resolve(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():  # the caller went away (client disconnected)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class GroupCommitWriter(Generic[T, R]):
    """Applies submitted items on writer threads, a batch per transaction: ``apply(uow, items)`` → one result each.

    ``lock`` is taken around each batch so that other in-process writers (API requests on other threads)
    queue behind it instead of spinning in SQLite's busy handler.
    """

    def __init__(
        self,
        engine: sa.Engine,
        lock: contextlib.AbstractContextManager[Any],
        apply: Callable[[BatchUnitOfWork, list[T]], list[R]],
        *,
        threads: int = 1,
        max_batch: int = 128,
    ) -> None:
        self._engine = engine
        self._lock = lock
        self._apply = apply
        self._threads_wanted = threads
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()

    async def submit(self, item: T) -> R:
        """Apply ``item`` in the next batch; returns its result once the batch has committed."""
        self._ensure_started()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.put(_Job(item, future, loop))
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
        outcomes: list[tuple[Any, BaseException | None]]
        try:
            outcomes = [(value, None) for value in self._transaction(batch)]
        except _BatchFailed:
            # Applying failed: the whole transaction was rolled back. Apply each item alone, so that one bad
            # message (or a crossed duplicate) costs only its own reply.
            outcomes = []
            for job in batch:
                try:
                    outcomes.append((self._transaction([job])[0], None))
                except _BatchFailed as failed:
                    outcomes.append((None, failed.error))
                except Exception as error:
                    outcomes.append((None, error))
        except Exception as error:  # BEGIN or COMMIT failed: nothing of this batch is durable
            log.exception("group commit of %d notifications failed", len(batch))
            outcomes = [(None, error)] * len(batch)
        for job, (value, failure) in zip(batch, outcomes, strict=True):
            job.loop.call_soon_threadsafe(_resolve, job.future, value, failure)

    def _transaction(self, batch: list[_Job]) -> list[R]:
        """The batch applied in one transaction, committed; ``_BatchFailed`` (rolled back) if applying raises."""
        with self._lock, self._engine.connect() as conn, conn.begin():
            try:
                values = self._apply(BatchUnitOfWork(conn), [job.item for job in batch])
                if len(values) != len(batch):
                    raise RuntimeError(f"apply answered {len(values)} results for {len(batch)} items")
            except Exception as error:
                raise _BatchFailed(error) from error
        return values


class _BatchFailed(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error

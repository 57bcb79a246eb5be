"""The job queue: dedupe keys, leases (a killed worker's job is taken again), lost leases cannot complete."""

from __future__ import annotations

import threading

import pytest

from weipay.service.db import SqlUnitOfWork, upgrade

NOW = 1_790_000_000.0


@pytest.fixture
def uow(database_url):
    upgrade(database_url)
    built = SqlUnitOfWork.from_url(database_url)
    yield built
    built.dispose()


def test_dedupe_key_keeps_one_row_and_rearm_moves_it_earlier(uow):
    with uow.write() as tx:
        assert tx.jobs.enqueue("k", {"n": 1}, due_at=NOW + 60, now=NOW, dedupe_key="x")
        assert not tx.jobs.enqueue("k", {"n": 2}, due_at=NOW + 10, now=NOW, dedupe_key="x")
        assert tx.jobs.enqueue("k", {"n": 3}, due_at=NOW + 10, now=NOW, dedupe_key="x", rearm=True)
        assert tx.jobs.enqueue("k", {"n": 4}, due_at=NOW + 30, now=NOW, dedupe_key="x", rearm=True)
        rows = tx.jobs.list()
    assert len(rows) == 1 and rows[0].due_at == NOW + 10 and rows[0].payload == {"n": 4}


def test_a_killed_workers_lease_expires_and_the_job_is_claimed_again(uow):
    with uow.write() as tx:
        tx.jobs.enqueue("k", {}, due_at=NOW, now=NOW)
    with uow.write() as tx:
        first = tx.jobs.claim(NOW, limit=10, lease_s=60)
    assert len(first) == 1
    with uow.write() as tx:  # the worker died: nothing completes it; while the lease holds, nobody else takes it
        assert tx.jobs.claim(NOW + 30, limit=10, lease_s=60) == []
    with uow.write() as tx:
        second = tx.jobs.claim(NOW + 61, limit=10, lease_s=60)
    assert [j.id for j in second] == [first[0].id] and second[0].attempts == 2
    with uow.write() as tx:
        assert not tx.jobs.complete(first[0], NOW + 62)  # the old lease is gone
        assert tx.jobs.complete(second[0], NOW + 62)
        assert tx.jobs.list()[0].status == "done"


def test_retry_backs_off_then_gives_up(uow):
    with uow.write() as tx:
        tx.jobs.enqueue("k", {}, due_at=NOW, now=NOW, max_attempts=2)
    for n in range(2):
        with uow.write() as tx:
            (job,) = tx.jobs.claim(NOW + 100 * n, limit=1, lease_s=10)
            tx.jobs.retry(job, NOW + 100 * n, due_at=NOW + 100 * (n + 1), error="boom")
    with uow.read() as tx:
        (row,) = tx.jobs.list()
    assert (row.status, row.last_error) == ("dead", "boom")


def test_concurrent_claimers_never_share_a_job(uow):
    with uow.write() as tx:
        for n in range(40):
            tx.jobs.enqueue("k", {"n": n}, due_at=NOW, now=NOW)
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer():
        while True:
            with uow.write() as tx:
                jobs = tx.jobs.claim(NOW, limit=3, lease_s=60)
            if not jobs:
                return
            with lock:
                claimed.extend(j.id for j in jobs)

    threads = [threading.Thread(target=claimer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 40


def _running(uow, **enqueue):
    with uow.write() as tx:
        tx.jobs.enqueue("k", {}, due_at=NOW, now=NOW, dedupe_key="x", **enqueue)
    with uow.write() as tx:
        (job,) = tx.jobs.claim(NOW, limit=1, lease_s=60)
    return job


def _row(uow):
    with uow.read() as tx:
        (row,) = tx.jobs.list()
    return row


def test_a_follow_up_scheduled_while_the_job_runs_outlives_its_completion(uow):
    """A refund still processing re-arms its own sync while that sync runs: completing the run must not drop it."""
    job = _running(uow)
    with uow.write() as tx:
        tx.jobs.enqueue("k", {}, due_at=NOW + 30, now=NOW + 1, dedupe_key="x", rearm=True)
        tx.jobs.enqueue("k", {}, due_at=NOW + 40, now=NOW + 1, dedupe_key="x", rearm=True)  # the sooner one wins
        assert tx.jobs.complete(job, NOW + 2)
    row = _row(uow)
    assert (row.status, row.due_at, row.attempts) == ("pending", NOW + 30, 0)
    with uow.write() as tx:
        (again,) = tx.jobs.claim(NOW + 30, limit=1, lease_s=60)
        assert tx.jobs.complete(again, NOW + 31)
    assert _row(uow).status == "done"  # no follow-up this time: done for good


def test_a_follow_up_outlives_a_failed_run_and_a_dead_one(uow):
    job = _running(uow, max_attempts=2)
    with uow.write() as tx:
        tx.jobs.enqueue("k", {}, due_at=NOW + 30, now=NOW + 1, dedupe_key="x", rearm=True)
        assert tx.jobs.retry(job, NOW + 2, due_at=NOW + 500, error="boom")  # attempt 1 of 2 failed
    row = _row(uow)
    assert (row.status, row.due_at) == ("pending", NOW + 30)  # the follow-up is sooner than the backoff
    with uow.write() as tx:
        (again,) = tx.jobs.claim(NOW + 30, limit=1, lease_s=60)
        tx.jobs.enqueue("k", {}, due_at=NOW + 900, now=NOW + 31, dedupe_key="x", rearm=True)
        assert tx.jobs.retry(again, NOW + 32, due_at=NOW + 60, error="boom")  # out of attempts again
    row = _row(uow)
    assert (row.status, row.due_at) == ("pending", NOW + 900)  # not dead: the follow-up asked for still runs


def test_polls_do_not_spend_retries(uow):
    """A 7-day order is polled hundreds of times; one transient error afterwards must not kill its query job."""
    with uow.write() as tx:
        tx.jobs.enqueue("k", {}, due_at=NOW, now=NOW, max_attempts=3)
    for n in range(10):
        with uow.write() as tx:
            (job,) = tx.jobs.claim(NOW + n, limit=1, lease_s=10)
            assert tx.jobs.retry(job, NOW + n, due_at=NOW + n + 1, error="still unpaid", counted=False)
    assert _row(uow).attempts == 0
    with uow.write() as tx:
        (job,) = tx.jobs.claim(NOW + 20, limit=1, lease_s=10)
        assert tx.jobs.retry(job, NOW + 20, due_at=NOW + 30, error="ConnectError")
    row = _row(uow)
    assert (row.status, row.attempts) == ("pending", 1)


def test_a_lease_is_renewed_per_job_and_a_lost_one_cannot_be(uow):
    with uow.write() as tx:
        tx.jobs.enqueue("k", {}, due_at=NOW, now=NOW)
    with uow.write() as tx:
        (mine,) = tx.jobs.claim(NOW, limit=1, lease_s=60)
    with uow.write() as tx:
        assert tx.jobs.renew(mine, NOW + 50, lease_s=60)  # still mine: now good until NOW + 110
        assert tx.jobs.claim(NOW + 100, limit=1, lease_s=60) == []
    with uow.write() as tx:
        (theirs,) = tx.jobs.claim(NOW + 111, limit=1, lease_s=60)  # it ran out: another worker takes it
    with uow.write() as tx:
        assert not tx.jobs.renew(mine, NOW + 112, lease_s=60)
        assert tx.jobs.renew(theirs, NOW + 112, lease_s=60)
def test_a_job_rearmed_while_it_runs_is_pending_after_it_completes_or_retries(uow):
    with uow.write() as tx:
        tx.jobs.enqueue("k", {}, due_at=NOW, now=NOW, dedupe_key="x")
    at = NOW
    for finish in ("complete", "retry"):
        with uow.write() as tx:
            (job,) = tx.jobs.claim(at, limit=1, lease_s=60)
            # its handler schedules a follow-up of itself (same key) before finishing
            assert tx.jobs.enqueue("k", {}, due_at=at + 30, now=at, dedupe_key="x", rearm=True)
            if finish == "complete":
                assert tx.jobs.complete(job, at + 1) == "pending"
            else:
                assert tx.jobs.retry(job, at + 1, due_at=at + 100, error="boom") == "pending"
            (row,) = tx.jobs.list()
        assert (row.status, row.due_at) == ("pending", at + 30)
        at += 30
    with uow.write() as tx:  # no re-arm this time: done
        (job,) = tx.jobs.claim(at, limit=1, lease_s=60)
        assert tx.jobs.complete(job, at + 1) == "done"


def test_an_uncounted_retry_gives_the_attempt_back_and_a_dead_job_can_be_revived(uow):
    with uow.write() as tx:
        tx.jobs.enqueue("k", {}, due_at=NOW, now=NOW, max_attempts=1)
    with uow.write() as tx:
        (job,) = tx.jobs.claim(NOW, limit=1, lease_s=10)
        assert tx.jobs.retry(job, NOW, due_at=NOW + 5, error="still waiting", counted=False) == "pending"
        assert tx.jobs.list()[0].attempts == 0
    with uow.write() as tx:
        (job,) = tx.jobs.claim(NOW + 5, limit=1, lease_s=10)
        assert tx.jobs.retry(job, NOW + 5, due_at=NOW + 10, error="boom") == "dead"
    with uow.write() as tx:
        assert tx.jobs.revive(job.id, NOW + 20)
        (row,) = tx.jobs.list()
    assert (row.status, row.attempts, row.due_at) == ("pending", 0, NOW + 20)


def test_a_job_whose_worker_dies_on_every_attempt_ends_dead(uow):
    with uow.write() as tx:
        tx.jobs.enqueue("k", {}, due_at=NOW, now=NOW, max_attempts=2)
    for n in range(2):  # each worker taking it dies: nothing completes or retries it
        with uow.write() as tx:
            assert tx.jobs.bury_abandoned(NOW + 100 * n) == []
            assert len(tx.jobs.claim(NOW + 100 * n, limit=1, lease_s=60)) == 1
    with uow.write() as tx:
        (dead,) = tx.jobs.bury_abandoned(NOW + 200)
        assert tx.jobs.claim(NOW + 200, limit=1, lease_s=60) == []
        (row,) = tx.jobs.list()
    assert (dead.id, row.status, row.attempts) == (row.id, "dead", 2) and row.last_error.startswith("abandoned")

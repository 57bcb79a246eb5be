"""Dead jobs are visible and can be retried over HTTP: ``GET /v1/jobs?status=dead`` (an admin key sees all, a
merchant key its own orders' jobs) and ``POST /v1/jobs/{id}/retry`` (dead -> pending, attempts back)."""

from __future__ import annotations

from ..admin.test_console import csrf, login
from ..web_harness import ADMIN_KEY, OTHER_API_KEY, Harness


def _dead_job(harness_factory) -> tuple[Harness, dict]:
    # A job that fails every time: a kind this worker has no handler for (as after a downgrade). Merchant webhooks
    # never die as jobs (their deliveries fail and are redelivered: see tests/service/webhooks).
    harness = harness_factory()
    order = harness.create_order(800)
    services = harness.app.state.services
    with services.uow.write() as tx:
        tx.jobs.enqueue("retired_kind", {"order_id": order["id"]}, due_at=harness.clock(), now=harness.clock(),
                        order_id=order["id"])  # fmt: skip
    for _ in range(25):
        harness.run_jobs()
        harness.clock.advance(3601)
    return harness, order


def test_a_dead_job_is_listed_for_its_merchant_and_admins_and_can_be_retried(harness_factory) -> None:
    harness, order = _dead_job(harness_factory)
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    other = {"Authorization": f"Bearer {OTHER_API_KEY}"}
    dead = harness.api.get("/v1/jobs", params={"status": "dead"}, headers=admin).json()["jobs"]
    assert [(j["kind"], j["order_id"], j["attempts"]) for j in dead] == [("retired_kind", order["id"], 20)]
    assert "payload" not in dead[0] and dead[0]["last_error"]
    assert harness.api.get("/v1/jobs?status=dead", headers=harness.merchant).json()["jobs"] == dead
    assert harness.api.get("/v1/jobs?status=dead", headers=other).json()["jobs"] == []
    assert harness.api.get("/v1/jobs?status=dead").status_code == 401
    assert harness.api.get("/v1/jobs?status=buried", headers=admin).status_code == 422
    url = f"/v1/jobs/{dead[0]['id']}/retry"
    assert harness.api.post(url, headers=other).status_code == 404
    retried = harness.api.post(url, headers=harness.merchant)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    assert harness.api.post(url, headers=admin).status_code == 409  # no longer dead
    assert harness.api.get("/v1/jobs?status=dead", headers=admin).json()["jobs"] == []
    with harness.app.state.services.uow.read() as tx:
        (anomaly,) = tx.anomalies.list(kind="job_dead")
    assert anomaly.order_id == order["id"]


def test_the_console_lists_dead_jobs_and_retries_one(harness_factory) -> None:
    harness, order = _dead_job(harness_factory)
    assert harness.api.get("/console/jobs").status_code == 303  # operators only
    login(harness)
    page = harness.api.get("/console/jobs")
    assert page.status_code == 200 and order["id"] in page.text and "retired_kind" in page.text
    (job,) = harness.api.get("/v1/jobs?status=dead", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).json()["jobs"]
    url = f"/console/jobs/{job['id']}/retry"
    assert harness.api.post(url, data={"csrf_token": "0" * 64}).status_code == 403
    answer = harness.api.post(url, data={"csrf_token": csrf(page.text)})
    assert answer.status_code == 303 and "done=job_retried" in answer.headers["location"]
    assert "没有失败任务。" in harness.api.get("/console/jobs").text

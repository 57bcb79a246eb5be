"""Alerts reach each robot in its platform's format, signed; storms are one message with a count; a robot
that is down is retried by the job queue, and a dead alert job is never alerted through the same robots."""

from __future__ import annotations

import json

from weipay.service.bootstrap.alerts import router_from_settings
from weipay.service.domain import CallRecord
from weipay.service.jobs import run_due_jobs
from weipay.service.settings import load_settings
from weipay.service.usecases.alerting import ALERT, ALERT_WINDOW_S, Severity, raise_alert, record_wechat_call

from .receivers import WECOM_KEY, sink_settings

MCHID = "1900000109"


def _router(robots, **overrides):
    settings = load_settings(environ={}, overrides={"alerts": sink_settings(robots.base_url, **overrides)})
    return router_from_settings(settings.alerts)


def _run(uow, clock, router):
    return run_due_jobs(uow, None, clock, 50, kinds=[ALERT], alerts=router)


def _refused_create(uow, clock, out_trade_no="W-0001"):
    call = CallRecord(
        direction="outbound", api="v3", endpoint="v3/pay/transactions/native", outcome="refused", latency_ms=12,
        mchid=MCHID, http_status=400, wechat_code="PARAM_ERROR", request_id="req-1",
        request_body=json.dumps({"out_trade_no": out_trade_no, "amount_fen": 800}),
        response_body=json.dumps({"code": "PARAM_ERROR", "message": "参数错误"}), created_at=clock(),
    )  # fmt: skip
    with uow.write() as tx:
        record_wechat_call(tx, call, clock(), order_id="ord_1", attempt_id="att_1")


def _texts(received):
    """The human-readable content of each accepted message, whatever the platform's envelope."""
    texts = []
    for item in received:
        body = item.body
        if item.platform == "wecom":
            texts.append(body[body["msgtype"]]["content"])
        elif item.platform == "dingtalk":
            texts.append(body["markdown"]["text"] if body["msgtype"] == "markdown" else body["text"]["content"])
        elif item.platform == "feishu":
            texts.append(body["content"]["text"])
        else:
            texts.append(json.dumps(body["data"], ensure_ascii=False))
    return texts


def test_every_robot_gets_its_documented_format_signed_with_the_seeds_fields(uow, clock, robots):
    _refused_create(uow, clock)
    assert _run(uow, clock, _router(robots)) == 1
    assert [r.reason for r in robots.received if not r.accepted] == []
    for platform in ("wecom", "dingtalk", "feishu", "webhook"):
        [message] = robots.accepted(platform)
        [text] = _texts([message])
        # What was sent and what came back, as the seeds' sendRobotMsg put it.
        assert "统一下单" in text and "W-0001" in text and "PARAM_ERROR" in text and MCHID in text
    wecom, dingtalk, feishu, webhook = (robots.accepted(p)[0] for p in ("wecom", "dingtalk", "feishu", "webhook"))
    assert wecom.body["msgtype"] == "markdown" and "传入参数" in wecom.body["markdown"]["content"]
    assert set(dingtalk.query) == {"access_token", "timestamp", "sign"} and dingtalk.query["timestamp"] == [
        str(int(clock() * 1000))
    ]
    assert feishu.body["timestamp"] == str(int(clock())) and feishu.body["msg_type"] == "text"
    assert webhook.body["data"]["count"] == 1 and webhook.body["data"]["severity"] == "error"
    with uow.read() as tx:
        (job,) = tx.jobs.list(kind=ALERT)
        progress = tx.alerts.progress(job.payload["alert_key"], job.payload["window_start"])
    assert job.status == "done" and len(progress) == 4
    assert {p.events for p in progress.values()} == {1}


def test_text_messages_fit_the_robots_limits(uow, clock, robots):
    with uow.write() as tx:
        raise_alert(tx, "big", kind="x", severity=Severity.ERROR, title="大", now=clock(), mchid=MCHID,
                    detail={"sent": "长" * 5000})  # fmt: skip
    assert _run(uow, clock, _router(robots, msgtype="text")) == 1
    assert all(r.accepted for r in robots.received) and len(robots.received) == 4
    wecom = robots.accepted("wecom")[0].body
    assert wecom["msgtype"] == "text" and len(wecom["text"]["content"].encode()) <= 2048
    assert wecom["text"]["content"].endswith("(已截断)")


def test_a_wrong_secret_is_refused_by_the_robot_and_only_that_robot_is_sent_again(uow, clock, robots):
    _refused_create(uow, clock)
    wrong = sink_settings(robots.base_url)
    wrong[1]["secret"] = "SECwrong"
    wrong[2]["secret"] = "wrong"
    router = router_from_settings(load_settings(environ={}, overrides={"alerts": wrong}).alerts)
    _run(uow, clock, router)
    refusals = {r.platform: r.reason for r in robots.received if not r.accepted}
    feishu_refusal = "19021 sign match fail or timestamp is not within one hour from current time"
    assert refusals == {"dingtalk": "310000 sign not match", "feishu": feishu_refusal}
    with uow.read() as tx:
        (job,) = tx.jobs.list(kind=ALERT)
    assert job.status == "pending" and "errcode=310000" in (job.last_error or "")
    assert WECOM_KEY not in (job.last_error or "")  # the robot's URL (its key) never reaches an error
    clock.advance(10)
    _run(uow, clock, _router(robots))  # secrets fixed
    assert {p: len(robots.accepted(p)) for p in ("wecom", "dingtalk", "feishu", "webhook")} == {
        "wecom": 1, "dingtalk": 1, "feishu": 1, "webhook": 1,
    }  # fmt: skip


def test_a_storm_is_one_message_with_a_count_then_one_summary_per_window(uow, clock, robots):
    only_wecom = sink_settings(robots.base_url)[:1]
    router = router_from_settings(load_settings(environ={}, overrides={"alerts": only_wecom}).alerts)
    for index in range(50):
        with uow.write() as tx:
            raise_alert(tx, f"storm:{MCHID}", kind="unverifiable_v3_notification", severity=Severity.WARNING,
                        title="无法验证的微信通知", now=clock(), mchid=MCHID, detail={"n": index})  # fmt: skip
        clock.advance(0.5)
    with uow.write() as tx:
        raise_alert(tx, "other", kind="job_dead", severity=Severity.ERROR, title="另一件事", now=clock())
    _run(uow, clock, router)
    first = _texts(robots.accepted("wecom"))
    assert len(first) == 2
    storm = next(text for text in first if "无法验证" in text)
    assert "×50" in storm and "共 50 次" in storm
    for _ in range(7):  # more of the same within the window: nothing now, one summary when the window ends
        clock.advance(1)
        with uow.write() as tx:
            raise_alert(tx, f"storm:{MCHID}", kind="unverifiable_v3_notification", severity=Severity.WARNING,
                        title="无法验证的微信通知", now=clock(), mchid=MCHID)  # fmt: skip
    _run(uow, clock, router)
    assert len(robots.accepted("wecom")) == 2
    clock.advance(ALERT_WINDOW_S)
    _run(uow, clock, router)
    texts = _texts(robots.accepted("wecom"))
    assert len(texts) == 3 and "(续)" in texts[2] and "×7" in texts[2]
    with uow.read() as tx:
        assert len(tx.jobs.list(kind=ALERT)) == 3  # first + summary for the storm, first for the other


def test_min_severity_and_merchant_filters(uow, clock, robots):
    sinks = sink_settings(robots.base_url)
    sinks[0] |= {"min_severity": "critical"}
    sinks[1] |= {"merchants": ["1900000999"]}
    settings = load_settings(environ={}, overrides={"alerts": sinks, "merchants": [
        {"mchid": MCHID, "api_v2_key": "k" * 32}, {"mchid": "1900000999", "api_v2_key": "k" * 32}]})  # fmt: skip
    _refused_create(uow, clock)  # error, merchant MCHID
    _run(uow, clock, router_from_settings(settings.alerts))
    assert {r.platform for r in robots.received} == {"feishu", "webhook"}


def test_a_robot_down_is_retried_until_it_answers(uow, clock, robots):
    _refused_create(uow, clock)
    robots.down = True
    router = _router(robots)
    _run(uow, clock, router)
    with uow.read() as tx:
        (job,) = tx.jobs.list(kind=ALERT)
    assert job.status == "pending" and job.attempts == 1 and "HTTP 503" in (job.last_error or "")
    robots.down = False
    clock.advance(5)
    _run(uow, clock, router)
    assert len([r for r in robots.received if r.accepted]) == 4
    with uow.read() as tx:
        assert tx.jobs.list(kind=ALERT)[0].status == "done"


def test_a_dead_alert_job_is_an_anomaly_but_never_an_alert_about_itself(uow, clock, robots):
    _refused_create(uow, clock)
    robots.down = True
    router = _router(robots)
    for _ in range(25):
        _run(uow, clock, router)
        clock.advance(3601)
    with uow.read() as tx:
        (job,) = tx.jobs.list(kind=ALERT)
        dead = tx.anomalies.list(kind="job_dead")
        keys = {event.alert_key for event in tx.alerts.recent()}
    assert job.status == "dead"
    assert [json.loads(a.detail)["job_kind"] for a in dead] == [ALERT]
    assert keys == {f"wechat_refused:{MCHID}:v3/pay/transactions/native:PARAM_ERROR"}


def test_the_worker_built_from_the_settings_sends_to_the_configured_robots(uow, clock, robots, tmp_path):
    """The composition root wires ``settings.alerts`` into ``Services.run_due_jobs``: no robot is configured twice."""
    from weipay.service.bootstrap import build_services

    settings = load_settings(environ={}, overrides={
        "database_url": str(uow.engine.url.render_as_string(hide_password=False)),
        "alerts": sink_settings(robots.base_url),
    })  # fmt: skip
    services = build_services(settings, clock=clock)
    try:
        _refused_create(uow, clock)
        assert services.run_due_jobs() >= 1
    finally:
        services.close()
    assert {item.platform for item in robots.received} >= {"wecom", "dingtalk", "feishu"}

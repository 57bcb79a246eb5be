"""The checkout a merchant would otherwise write: FastAPI + SQLAlchemy ORM + wechatpayv3, as the tutorials do.

The reference side of ``bench/checkout_bench.py``. Same HTTP shape as the service's checkout, so the same
load generator drives both:

- ``POST /v1/orders`` ``{"merchant_order_no", "amount", "description"}``: checks the bearer key, inserts one
  ORM row (a simple ``orders`` table, ``merchant_order_no`` unique) and answers 201 with its ``id``;
- ``POST /v1/orders/{id}/payments`` ``{"channel": "native", "api": "v3"}``: loads the row, calls
  ``wechatpayv3``'s ``pay()`` (Native, API v3, pointed at the simulator), stores the ``code_url``, answers 201;
- ``GET /v1/orders/{id}`` and ``GET /healthz`` (a ``SELECT 1``) for the prober.

Written the way FastAPI's SQL tutorial and wechatpayv3's README show (plain ``def`` handlers, which FastAPI
runs on its 40-thread pool; one ``WeChatPay`` object for the process, ``requests`` underneath, a new connection
per call), with the fixes a merchant makes after the first load test, so that it is a fair opponent:

- a session per block inside each handler, not a ``Depends(get_db)`` generator: with the tutorial's
  dependency, 256 users exhausted the pool in a first run (``QueuePool limit of size 5 overflow 10 reached``,
  0 checkouts), the deadlock of fastapi/fastapi#3205 (handlers hold every thread waiting for a connection
  that a dependency's clean-up, which needs a thread, would give back);
- the pool sized to the thread pool (40), and no connection held during the WeChat call (read, call, write);
- the same durable SQLite settings as the service (WAL, ``busy_timeout`` 30 s): no "database is locked".

    python bench/reference_checkout.py --database-url URL --bundle-dir DIR/merchant --simulator-url URL --port P
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
import json
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import DateTime, Integer, String, create_engine, event, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from wechatpayv3 import WeChatPay, WeChatPayType


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    merchant_order_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(127))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    code_url: Mapped[str | None] = mapped_column(String(256), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class OrderIn(BaseModel):
    merchant_order_no: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-]+$")
    amount: int = Field(gt=0)
    description: str = Field(min_length=1, max_length=127)


class PaymentIn(BaseModel):
    channel: str
    api: str = "v3"


def create_app(database_url: str, bundle_dir: Path, simulator_url: str, api_key: str) -> FastAPI:
    sqlite = database_url.startswith("sqlite")
    engine = create_engine(database_url, pool_size=40, max_overflow=0, connect_args={"timeout": 30} if sqlite else {})
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

    Base.metadata.create_all(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    account = json.loads((bundle_dir / "account.json").read_text())
    wxpay = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE, mchid=account["mchid"],
        private_key=(bundle_dir / "apiclient_key.pem").read_text(), cert_serial_no=account["merchant_serial_no"],
        appid=account["appids"]["app"], apiv3_key=account["apiv3_key"], notify_url="http://127.0.0.1:1/notify",
        public_key=(bundle_dir / "wechatpay_public_key.pem").read_text(),
        public_key_id=account["wechatpay_public_key_id"], timeout=(5, 10),
    )  # fmt: skip
    wxpay._core._gate_way = simulator_url  # wechatpayv3 2.0 has no base URL parameter (docs/simulator.md)

    def merchant(authorization: Annotated[str, Header()] = "") -> None:
        if not hmac.compare_digest(authorization.encode(), f"Bearer {api_key}".encode()):
            raise HTTPException(401, "bad API key")

    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        with sessions() as db:
            db.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.post("/v1/orders", status_code=201, dependencies=[Depends(merchant)])
    def create_order(body: OrderIn) -> dict[str, Any]:
        order = Order(
            id=uuid.uuid4().hex,
            merchant_order_no=body.merchant_order_no,
            amount_fen=body.amount,
            description=body.description,
            status="pending",
            created_at=dt.datetime.now(dt.UTC),
        )
        with sessions() as db, db.begin():
            db.add(order)
        return {"id": order.id, "merchant_order_no": order.merchant_order_no, "amount": order.amount_fen,
                "status": order.status}  # fmt: skip

    @app.get("/v1/orders/{order_id}", dependencies=[Depends(merchant)])
    def get_order(order_id: str) -> dict[str, Any]:
        with sessions() as db:
            order = db.get(Order, order_id)
        if order is None:
            raise HTTPException(404, "no such order")
        return {"id": order.id, "amount": order.amount_fen, "status": order.status, "code_url": order.code_url}

    @app.post("/v1/orders/{order_id}/payments", status_code=201, dependencies=[Depends(merchant)])
    def start_payment(order_id: str, body: PaymentIn) -> dict[str, Any]:
        with sessions() as db:
            order = db.get(Order, order_id)
        if order is None:
            raise HTTPException(404, "no such order")
        status, message = wxpay.pay(description=order.description, out_trade_no=order.id,
                                    amount={"total": order.amount_fen})  # fmt: skip
        if status != 200:
            raise HTTPException(502, f"WeChat answered {status}")
        code_url = json.loads(message)["code_url"]
        with sessions() as db, db.begin():
            db.execute(update(Order).where(Order.id == order_id).values(code_url=code_url, status="paying"))
        return {"id": order_id, "code_url": code_url}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--bundle-dir", type=Path, required=True, help="the simulator bundle's merchant/ directory")
    parser.add_argument("--simulator-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = create_app(args.database_url, args.bundle_dir, args.simulator_url, args.api_key)
    uvicorn.run(app, host="127.0.0.1", port=args.port)  # uvicorn's defaults, as `uvicorn main:app` gives


if __name__ == "__main__":
    main()

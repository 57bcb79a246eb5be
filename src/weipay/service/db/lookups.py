"""The notification hot path's attempt lookups, built once and run on the driver (see ``_sql.driver_first``).

Shared by the attempts repository and the inbox, which prefetches the attempt with its insert.
"""

from __future__ import annotations

import sqlalchemy as sa

from .tables import payment_attempts

__all__ = ["BY_OUT_TRADE_NO", "BY_TRANSACTION_ID"]

BY_OUT_TRADE_NO = sa.select(payment_attempts).where(
    payment_attempts.c.mchid == sa.bindparam("mchid"), payment_attempts.c.out_trade_no == sa.bindparam("otn")
)
BY_TRANSACTION_ID = sa.select(payment_attempts).where(payment_attempts.c.transaction_id == sa.bindparam("tid"))

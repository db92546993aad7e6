"""Each market's prices over time, at a few resolutions (see `app/domain/price_history.py`): a projection of
the `trade.executed` events kept by the worker, rebuilt from the log by `events replay`."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.tables.columns import big, table, time


class PricePoint(SQLModel, table=True):
    """The probabilities after the last trade of a time bucket, at one resolution."""

    __tablename__ = "price_points"

    market_id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    resolution: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True, autoincrement=False))  # seconds
    bucket: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), primary_key=True))
    at: datetime = time()  # when the bucket's last trade was
    sequence: int = big()  # that trade's event's place in the market's stream: a later one always wins
    probabilities: list[float] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))


price_points = table(PricePoint)

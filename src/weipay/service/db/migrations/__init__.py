"""Alembic environment and revisions, shipped inside the package so ``weipay db upgrade`` works when installed."""

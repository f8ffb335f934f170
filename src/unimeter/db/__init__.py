"""The durable store: SQLAlchemy models, engines and Alembic migrations."""

"""asyncpg and SQL: the only place that talks to PostgreSQL."""

"""The only code that speaks SQL. PostgreSQL in production, SQLite embedded."""

"""Persistence: the schema, the engine, migrations and the repositories that own all SQL."""

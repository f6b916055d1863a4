"""The city server: ingest a fleet's counts from MQTT into PostgreSQL exactly once, and report on it.

Runs on a city server, never on a Pi (import-linter keeps device code from importing it). Owns
the PostgreSQL schema and its migrations (`migrate`, `migrations/`), message validation
(`messages`), storage (`store`), the MQTT consumer (`ingest`), the fleet report (`fleet`)
and the open-data export (`export`, which only reads).
psycopg is used nowhere else in the project.

    device -> broker -> $share/<group>/.../counts -> validate -> transaction commit -> PUBACK

city/ must NOT: acknowledge a message before its transaction has committed, drop a message
without a quarantine row, crash on a bad message, or log the database password.
"""

"""Everything PostgreSQL-specific in one place: privilege names, the SQL we run, and the
fixes we suggest for the server's errors, so a PostgreSQL reviewer can read it without Pulumi.
"""

from __future__ import annotations

from psycopg import sql

# Stitch runs `CREATE SCHEMA IF NOT EXISTS`, which needs CREATE on the database (the guide's
# step 3). We grant all three database privileges, not CREATE alone: the postgresql provider's
# Grant runs `REVOKE ALL PRIVILEGES ON DATABASE` before its GRANT, so any privilege missing from
# this list would be taken from the role (for Heroku's owner credential: its CONNECT and TEMPORARY).
DATABASE_PRIVILEGES = ("CONNECT", "CREATE", "TEMPORARY")

# Stitch's minimum server version (9.3), as server_version_num.
MINIMUM_SERVER_VERSION = 90300

HEROKU_STATUS_PAGE = "https://status.heroku.com"

# One round trip for every fact a check needs: whether this backend is encrypted, whether the
# user may create schemas, and how many connection slots are left.
FACTS_QUERY = sql.SQL("""
SELECT s.ssl,
       s.version AS ssl_version,
       s.cipher AS ssl_cipher,
       current_user AS username,
       current_database() AS database,
       has_database_privilege(current_user, current_database(), 'CREATE') AS can_create,
       has_database_privilege(current_user, current_database(), 'TEMPORARY') AS can_temp,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int
         + coalesce(current_setting('reserved_connections', true)::int, 0) AS reserved_connections,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS in_use
  FROM pg_stat_ssl AS s
 WHERE s.pid = pg_backend_pid()
""")

# The catalog reads Stitch makes before loading: which schemas, tables and columns exist.
CATALOG_QUERIES: dict[str, sql.SQL] = {
    "information_schema.tables": sql.SQL("SELECT table_schema, table_name FROM information_schema.tables LIMIT 1"),
    "information_schema.columns": sql.SQL(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns LIMIT 1"
    ),
    "pg_catalog.pg_namespace": sql.SQL("SELECT nspname FROM pg_catalog.pg_namespace LIMIT 1"),
    "pg_catalog.pg_class": sql.SQL("SELECT relname, relkind FROM pg_catalog.pg_class LIMIT 1"),
}


# All catalog reads in one round trip; when it fails, each is run alone to name the one denied.
ALL_CATALOGS_QUERY = sql.SQL(" UNION ALL ").join(
    sql.SQL("SELECT {}::text, count(*) FROM ({}) AS q").format(sql.Literal(name), query) for name, query in CATALOG_QUERIES.items()
)


def dry_run_load_statements(schema: str) -> list[sql.Composable]:
    """The statements of a Stitch load, in the order Stitch runs them, against a probe schema.

    They run inside a transaction that is always rolled back, so nothing stays behind.
    """
    table = sql.Identifier(schema, "stitch_probe")
    return [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)),
        sql.SQL("CREATE TABLE {} (id bigint PRIMARY KEY, name text, _sdc_batched_at timestamptz)").format(table),
        sql.SQL("CREATE TEMPORARY TABLE stitch_probe_tmp (LIKE {}) ON COMMIT DROP").format(table),
        sql.SQL("ALTER TABLE {} ADD COLUMN _sdc_received_at timestamptz").format(table),
        sql.SQL("COMMENT ON TABLE {} IS {}").format(table, sql.Literal("stitch-heroku dry-run load")),
    ]


def copy_statement(schema: str) -> sql.Composed:
    """The COPY Stitch uses to load rows."""
    return sql.SQL("COPY {} (id, name, _sdc_batched_at) FROM STDIN").format(sql.Identifier(schema, "stitch_probe"))


def quote_identifier(name: str) -> str:
    """Quote a name the way PostgreSQL would, without needing a connection."""
    return '"' + name.replace('"', '""') + '"'


def grant_create_text(database: str, role: str) -> str:
    """The GRANT a person can paste into psql."""
    return f"GRANT CREATE ON DATABASE {quote_identifier(database)} TO {quote_identifier(role)};"


# libpq's words for a server that is not answering yet: the only connection errors worth waiting out.
NOT_ANSWERING = ("timeout", "timed out", "refused", "could not translate host", "the database system is starting up")


def is_not_answering(message: str) -> bool:
    """True when the server did not answer (yet), as opposed to answering and refusing."""
    text = message.lower()
    return any(marker in text for marker in NOT_ANSWERING)


def connect_error_fix(message: str, target: str) -> str:
    """Map libpq's connection error to what the user should do about it."""
    text = message.lower()
    if "does not support ssl" in text or "ssl was required" in text:
        return (
            "The server does not offer SSL, and Stitch connects to Heroku only with SSL: "
            'check the host, or turn on SSL on the server. In Stitch, keep "Connect using SSL" checked.'
        )
    if "password authentication failed" in text or "authentication failed" in text:
        return (
            "The username or password was refused. Heroku rotates credentials during maintenance: "
            "run `pulumi refresh && pulumi up` to read the current ones, then paste them into Stitch."
        )
    if "no pg_hba.conf entry" in text and "no encryption" in text:
        return 'The server only accepts SSL connections: keep "Connect using SSL" checked in Stitch.'
    if "database" in text and "does not exist" in text:
        return "The database name is wrong or the database was deleted: check the `database` output."
    if is_not_answering(text):
        return (
            f"Nothing answered at {target}. A new Heroku database can take minutes to start: "
            f"retry with --wait. Otherwise check the host and port, and {HEROKU_STATUS_PAGE} for outages."
        )
    return f"Check the connection settings, and {HEROKU_STATUS_PAGE} for outages."

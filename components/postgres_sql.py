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
# user may create schemas, and how many connection slots are left under each limit the server
# enforces: the server's max_connections, the login role's CONNECTION LIMIT (how Heroku's
# Essential plans cap connections: "too many connections for role") and the database's.
# The server counts a role's connections across all databases and a database's across all roles,
# and neither limit binds a superuser. pg_stat_activity shows every backend's role and database to
# any user, but hides backend_type of other roles' sessions: a hidden row with both a role and a
# database is a client session (the logical replication launcher has no database, autovacuum
# workers no role).
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
       a.in_use,
       r.rolname AS login_role,
       r.rolsuper AS login_role_is_superuser,
       r.rolconnlimit AS role_limit,
       a.role_in_use,
       d.datconnlimit AS database_limit,
       a.database_in_use
  FROM pg_stat_ssl AS s
 CROSS JOIN (SELECT count(*)::int AS in_use,
                    (count(*) FILTER (WHERE usename = session_user))::int AS role_in_use,
                    (count(*) FILTER (WHERE datname = current_database()))::int AS database_in_use
               FROM pg_stat_activity
              WHERE backend_type = 'client backend'
                 OR (backend_type IS NULL AND usename IS NOT NULL AND datname IS NOT NULL)) AS a
  JOIN pg_roles AS r ON r.rolname = session_user
  JOIN pg_database AS d ON d.datname = current_database()
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


# The words for a host name that does not resolve: psycopg 3 resolves names itself ("failed to
# resolve host 'x': [Errno -3] Temporary failure in name resolution"), libpq says "could not
# translate host name". A new Heroku database's name can take a while to appear in DNS.
NOT_RESOLVED = ("failed to resolve host", "could not translate host name", "temporary failure in name resolution")

# libpq's words for a server that is not answering yet: the only connection errors worth waiting out.
NOT_ANSWERING = ("timeout", "timed out", "refused", "the database system is starting up", *NOT_RESOLVED)

# The server's words when a connection limit is reached (FATAL 53300, too_many_connections).
TOO_MANY_FOR_ROLE = "too many connections for role"
TOO_MANY_FOR_DATABASE = "too many connections for database"
TOO_MANY_CLIENTS = ("sorry, too many clients already", "remaining connection slots are reserved")


def is_not_resolved(message: str) -> bool:
    """True when the host name did not resolve (yet)."""
    text = message.lower()
    return any(marker in text for marker in NOT_RESOLVED)


def is_not_answering(message: str) -> bool:
    """True when the server did not answer (yet), as opposed to answering and refusing."""
    text = message.lower()
    return any(marker in text for marker in NOT_ANSWERING)


def role_limit_fix(role: str, limit: int) -> str:
    """What to do when the login role's CONNECTION LIMIT leaves Stitch too few connections."""
    return (
        f'Stitch needs a few connections while it loads, and role "{role}" may hold only {limit} at once (its '
        "connection limit; Heroku's Essential plans cap connections per role): close idle clients of this role "
        "(heroku pg:ps, heroku pg:kill), give Stitch a credential of its own (heroku pg:credentials:create, "
        "Standard plans and higher), or choose a larger plan."
    )


def database_limit_fix(database: str, limit: int) -> str:
    """What to do when the database's CONNECTION LIMIT leaves Stitch too few connections."""
    return (
        f'Stitch needs a few connections while it loads, and database "{database}" accepts only {limit} at once '
        f"(its connection limit): close idle clients, or as its owner run: ALTER DATABASE {quote_identifier(database)} "
        "CONNECTION LIMIT -1;"
    )


SERVER_LIMIT_FIX = "Stitch needs a few connections while it loads: close idle clients or choose a larger plan."


REFRESH_AFTER_ROTATION = (
    "A plain `pulumi refresh` or `pulumi up --refresh` (CI's `refresh: true`) signs in with the revoked password saved "
    "in the state and fails with \"password authentication failed\": add `--run-program` to either."
)
"""Both proven with the real engine (tests/test_real_engine.py, test_refresh_after_a_rotation_needs_the_program)."""


def credentials_fix(source: str | None) -> str:
    """What to run when the password was refused: it depends on where the stack's URL comes from."""
    if source in ("heroku", "heroku-existing"):
        return (
            "The username or password was refused. Heroku rotates credentials (maintenance, "
            "`heroku pg:credentials:rotate`): run `pulumi up`, which reads the current URL from the app's config vars "
            f"and, with a Stitch token, gives Stitch the new password. {REFRESH_AFTER_ROTATION}"
        )
    if source == "url":
        return (
            "The username or password was refused. If the password changed, set the new URL, read from stdin: "
            "`pulumi config set --secret database_url` (or `stitch_url` for Stitch's own credential), then `pulumi up`. "
            f"{REFRESH_AFTER_ROTATION}"
        )
    return (
        "The username or password was refused. If Heroku rotated the credentials, take the current URL "
        "(`heroku config:get DATABASE_URL -a <app>`); a stack with a Heroku source picks it up on `pulumi up`, "
        "a stack with source url needs `pulumi config set --secret database_url` first."
    )


def connect_error_fix(
    message: str, target: str, *, host: str = "", role: str = "", database: str = "", source: str | None = None
) -> str:
    """Map libpq's connection error to what the user should do about it.

    source: the stack's `source` when a stack runs the check, for the credentials' fix; None from the CLI.
    """
    text = message.lower()
    if "does not support ssl" in text or "ssl was required" in text:
        return (
            "The server does not offer SSL, and Stitch connects to Heroku only with SSL: "
            'check the host, or turn on SSL on the server. In Stitch, keep "Connect using SSL" checked.'
        )
    if "password authentication failed" in text or "authentication failed" in text:
        return credentials_fix(source)
    if "no pg_hba.conf entry" in text and "no encryption" in text:
        return 'The server only accepts SSL connections: keep "Connect using SSL" checked in Stitch.'
    if TOO_MANY_FOR_ROLE in text:
        shown = f"role {quote_identifier(role)}" if role else "this role"
        return (
            f"Every connection {shown} may hold is in use (its connection limit; "
            "Heroku's Essential plans cap connections per role), so Stitch could not connect either: close idle "
            "clients of this role (heroku pg:ps, heroku pg:kill), give Stitch a credential of its own "
            "(heroku pg:credentials:create, Standard plans and higher), or choose a larger plan."
        )
    if TOO_MANY_FOR_DATABASE in text:
        shown = quote_identifier(database) if database else "<database>"
        return (
            f"Every connection database {shown} accepts is in use (its connection limit), so Stitch could not connect "
            f"either: close idle clients, or as its owner run: ALTER DATABASE {shown} CONNECTION LIMIT -1;"
        )
    if any(marker in text for marker in TOO_MANY_CLIENTS):
        return (
            "The server has no connection slot left (max_connections), so Stitch could not connect either: "
            "close idle clients (heroku pg:ps, heroku pg:killall) or choose a plan with more connections."
        )
    if "database" in text and "does not exist" in text:
        return "The database name is wrong or the database was deleted: check the `database` output."
    if is_not_resolved(text):
        return (
            f"The host name {host or target} does not resolve (yet). A new Heroku database's name can take a few "
            "minutes to appear in DNS: retry with --wait (pulumi up waits verify_timeout seconds). Otherwise check "
            f"the host (the `host` output) and this machine's DNS, and {HEROKU_STATUS_PAGE} for outages."
        )
    if is_not_answering(text):
        return (
            f"Nothing answered at {target}. A new Heroku database can take minutes to start: "
            f"retry with --wait. Otherwise check the host and port, and {HEROKU_STATUS_PAGE} for outages."
        )
    return f"Check the connection settings, and {HEROKU_STATUS_PAGE} for outages."


# -- least privilege: what Stitch's role may do beyond loading --------------------------------------------

# The role attributes that reach beyond Stitch's database, with what each would let a holder do.
ROLE_POWERS = {
    "rolsuper": "SUPERUSER (bypasses every permission check)",
    "rolcreaterole": "CREATEROLE (may create and alter roles)",
    "rolcreatedb": "CREATEDB (may create databases)",
    "rolreplication": "REPLICATION (may stream the whole cluster's changes)",
    "rolbypassrls": "BYPASSRLS (ignores row-level security)",
}

# Who Stitch's login is next to the database's owner. pg_has_role(..., 'USAGE') is true for the role
# itself and for every role it inherits from, directly or through other roles (pg_auth_members), so a
# member of the owner's role (which may act with all the owner's rights) is caught however it got there;
# 'MEMBER' also counts memberships without INHERIT, from which SET ROLE reaches the owner.
LEAST_PRIVILEGE_QUERY = sql.SQL("""
SELECT r.rolname AS role,
       pg_get_userbyid(d.datdba) AS owner,
       r.oid = d.datdba AS is_owner,
       pg_has_role(r.oid, d.datdba, 'MEMBER') AS member_of_owner,
       r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls
  FROM pg_roles AS r
  JOIN pg_database AS d ON d.datname = current_database()
 WHERE r.rolname = session_user
""")

# Run as the database owner (read-only, in preview): may it create Stitch's role, and does that role exist?
# CREATE ROLE needs CREATEROLE or SUPERUSER (PostgreSQL's CREATE ROLE reference).
OWNER_FACTS_QUERY = sql.SQL("""
SELECT current_user AS owner,
       (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) AS may_create_roles,
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %(role)s) AS role_exists,
       %(previous)s::text IS NOT NULL AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %(previous)s)
         AND NOT pg_has_role(current_user, %(previous)s, 'USAGE') AS previous_out_of_reach
""")

# Stitch's schemas: each table Stitch creates carries its `_sdc_` system columns (Stitch's "System Table and
# Column Reference"), so a schema whose every table has one is Stitch's. Only schemas whose owner the
# database owner may act for are listed (itself, or a role it inherits), never `public` or a system schema:
# the app's own tables have no `_sdc_` columns and stay where they are.
STITCH_SCHEMAS_QUERY = sql.SQL("""
SELECT n.nspname AS schema,
       pg_get_userbyid(n.nspowner) AS schema_owner,
       array_agg(c.relname ORDER BY c.relname) FILTER (WHERE pg_get_userbyid(c.relowner) <> %(role)s) AS tables
  FROM pg_namespace AS n
  JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p')
 WHERE n.nspname NOT IN ('public', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_%%'
   AND pg_has_role(current_user, n.nspowner, 'USAGE')
 GROUP BY n.nspname, n.nspowner
HAVING bool_and(EXISTS (SELECT 1 FROM pg_attribute AS a
                         WHERE a.attrelid = c.oid AND a.attname LIKE '\\_sdc\\_%%' AND NOT a.attisdropped))
   AND (pg_get_userbyid(n.nspowner) <> %(role)s OR bool_or(pg_get_userbyid(c.relowner) <> %(role)s))
 ORDER BY n.nspname
""")


# Keep waits for a lock short: a handover must not queue behind (and so block) a long Stitch load.
HANDOVER_LOCK_TIMEOUT = sql.SQL("SET LOCAL lock_timeout = '10s'")


def handover_statements(role: str, schemas: list[tuple[str, list[str]]]) -> list[sql.Composed]:
    """Give Stitch's schemas and tables to its new role; the commands a person could run instead.

    ALTER ... OWNER TO needs the caller to be a member of the new owner (PostgreSQL's ALTER TABLE
    reference), hence the GRANT first: it makes the database owner a member of Stitch's role (not the
    other way round), so the owner keeps reading what Stitch loads. Indexes and owned sequences follow
    their table. Never REASSIGN OWNED BY the owner: that would hand over the app's own tables too.
    """
    target = sql.Identifier(role)
    statements = [sql.SQL("GRANT {} TO CURRENT_USER").format(target)]
    for schema, tables in schemas:
        statements.append(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(schema), target))
        statements += [sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.Identifier(schema, table), target) for table in tables]
    return statements


def role_exists_fix(role: str) -> str:
    return (
        f'A role "{role}" already exists on the server and this stack did not make it (or `pulumi destroy` kept it). '
        f"Pick another name: pulumi config set stitch_role_name {role}_2; or, if it is a role made for Stitch by hand, "
        "give its URL instead: pulumi config set --secret stitch_url (it asks for the URL)"
    )


# -- write access to what Stitch already loaded, and the database's size ---------------------------------

# The privileges a Stitch load needs on a table it loaded before: it upserts (INSERT, UPDATE, and DELETE of
# the rows it replaces; stitchdata/docs _data/destinations/postgres/v1/replication.yml).
TABLE_WRITE_PRIVILEGES = ("INSERT", "UPDATE", "DELETE")

# Run as Stitch's role: the tables of Stitch's own schemas and what this role may do to each. Stitch's schemas
# are those its role owns (or a role it inherits owns), outside `public` and the system schemas; a table is
# Stitch's when it carries an `_sdc_` system column (Stitch's "System Table and Column Reference"), so the app's
# own tables are left out when Stitch loads as the owner (Essential plans).
WRITE_ACCESS_QUERY = sql.SQL("""
WITH stitch_tables AS (
  SELECT n.nspname AS schema, c.relname AS "table", pg_get_userbyid(c.relowner) AS table_owner,
         has_schema_privilege(current_user, n.oid, 'USAGE') AS usage,
         has_table_privilege(current_user, c.oid, 'INSERT') AS insert,
         has_table_privilege(current_user, c.oid, 'UPDATE') AS update,
         has_table_privilege(current_user, c.oid, 'DELETE') AS delete
    FROM pg_namespace AS n
    JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p')
   WHERE n.nspname NOT IN ('public', 'information_schema')
     AND n.nspname NOT LIKE 'pg\\_%'
     AND pg_has_role(current_user, n.nspowner, 'USAGE')
     AND EXISTS (SELECT 1 FROM pg_attribute AS a
                  WHERE a.attrelid = c.oid AND a.attname LIKE '\\_sdc\\_%' AND NOT a.attisdropped)
)
SELECT current_user AS role, (SELECT count(*) FROM stitch_tables) AS tables,
       (SELECT count(DISTINCT schema) FROM stitch_tables) AS schemas, s.*
  FROM stitch_tables AS s
 ORDER BY (s.usage AND s.insert AND s.update AND s.delete), s.schema, s."table"
""")


def grant_write_text(schema: str, table: str, role: str, privileges: list[str]) -> str:
    """The GRANT a table's owner (or a superuser) can paste into psql to give a load its privileges back."""
    return f"GRANT {', '.join(privileges)} ON {quote_identifier(schema)}.{quote_identifier(table)} TO {quote_identifier(role)};"


def grant_schema_write_text(schema: str, role: str) -> str:
    """The same for every table of a schema at once."""
    return f"GRANT USAGE ON SCHEMA {quote_identifier(schema)} TO {quote_identifier(role)}; " + (
        f"GRANT {', '.join(TABLE_WRITE_PRIVILEGES)} ON ALL TABLES IN SCHEMA {quote_identifier(schema)} TO {quote_identifier(role)};"
    )


# The database's size as Heroku measures it for its plans (pg_database_size, what `heroku pg:info` shows as
# "Data Size"), and its tables: ordinary and partitioned ones outside the system schemas (a table Stitch
# makes for each stream and nested array counts once). Any role with CONNECT may ask both.
CAPACITY_QUERY = sql.SQL("""
SELECT pg_database_size(current_database())::bigint AS used_bytes,
       (SELECT count(*) FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%')::int AS tables
""")

# Run as the owner when the program declares the grant: which database privileges the grantee holds now in its
# own name, as the postgresql provider reads them back (aclexplode of datacl; resource_postgresql_grant.go), with
# the owner's implicit defaults when the database has no ACL yet, so that what Heroku took over capacity is not
# granted back.
HELD_PRIVILEGES_QUERY = sql.SQL("""
SELECT array(SELECT DISTINCT a.privilege_type
               FROM pg_database AS d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) AS a
              WHERE d.datname = current_database()
                AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = %(role)s)
                AND a.privilege_type = ANY(%(privileges)s::text[])) AS held
""")

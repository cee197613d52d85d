"""Everything PostgreSQL-specific in one place: privilege names, the SQL we run, and the
fixes we suggest for the server's errors, so a PostgreSQL reviewer can read it without Pulumi.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from .config import PROGRAM_TERMS, Terms
from .up_command import pulumi_up, without_language_host

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
# The login's own attributes and the roles it may use (see _MEMBERSHIP_CTES) ride along, for the least-privilege
# check: one round trip, and the catalogs they read (pg_roles, pg_auth_members, pg_shdepend) are PUBLIC's by default.
# `owns` counts what a role owns outside this database (databases, and objects in the others: pg_shdepend); what it
# owns here shows in the object ACLs (OBJECT_PRIVILEGES_QUERY: an owner's default privileges), named once.
_FACTS_QUERY = """
WITH RECURSIVE {memberships}
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
       a.database_in_use,
       pg_get_userbyid(d.datdba) AS owner,
       r.oid = d.datdba AS is_owner,
       r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls,
       (SELECT coalesce(json_agg(json_build_object(
                 'oid', u.oid, 'role', m.rolname, 'via', u.via, 'inherited', u.inherited,
                 'owner', u.oid = d.datdba, 'builtin', m.rolname::text = ANY (ARRAY[{builtin_roles}]),
                 'attributes', CASE WHEN u.settable THEN array_remove(ARRAY[
                     CASE WHEN m.rolsuper THEN 'rolsuper' END, CASE WHEN m.rolcreaterole THEN 'rolcreaterole' END,
                     CASE WHEN m.rolcreatedb THEN 'rolcreatedb' END, CASE WHEN m.rolreplication THEN 'rolreplication' END,
                     CASE WHEN m.rolbypassrls THEN 'rolbypassrls' END], NULL) ELSE '{{}}'::text[] END,
                 'owns', (SELECT count(*) FROM pg_shdepend AS o
                           WHERE o.refclassid = 'pg_authid'::regclass AND o.refobjid = m.oid AND o.deptype = 'o'
                             AND o.dbid <> d.oid))
               ORDER BY m.rolname), '[]')
          FROM usable AS u JOIN pg_roles AS m ON m.oid = u.oid) AS memberships
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
"""


def facts_query(server_version: int) -> sql.Composed:
    """FACTS for this server: pg_auth_members has per-grant INHERIT and SET options from PostgreSQL 16 on."""
    edges = MEMBERSHIP_EDGES_16 if server_version >= 160000 else MEMBERSHIP_EDGES_14
    return sql.SQL(_FACTS_QUERY).format(
        memberships=sql.SQL(_MEMBERSHIP_CTES).format(edges=edges),
        builtin_roles=sql.SQL(", ").join(sql.Literal(name) for name in BUILTIN_ROLE_POWERS),
    )


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
    'in the state and fails with "password authentication failed": add `--run-program` to either.'
)
"""Both proven with the real engine (tests/test_real_engine.py, test_refresh_after_a_rotation_needs_the_program)."""


def credentials_fix(source: str | None, credential: str | None = None, terms: Terms = PROGRAM_TERMS) -> str:
    """What to run when the password was refused: it depends on where the stack's URL comes from, and, for a
    dedicated role (credential "dedicated" on source url), on the fact that the stack itself sets its password.
    terms: this program's config keys, or a Destination's inputs in a program of one's own (config.terms_of)."""
    if source == "url" and credential == "dedicated":
        return (
            "The password of Stitch's dedicated role was refused; this stack makes that password, so no URL of yours is "
            f"wrong: raise {terms.called('stitch_password_version')} by one ({terms.set('stitch_password_version', '<n+1>')}), "
            f"then {pulumi_up()}: the role, the verification and Stitch get a new one."
        )
    if source in ("heroku", "heroku-existing"):
        return (
            "The username or password was refused. Heroku rotates credentials (maintenance, "
            "`heroku pg:credentials:rotate`): run `pulumi up`, which reads the current URL from the app's config vars "
            f"and, with a Stitch token, gives Stitch the new password ({without_language_host()}). {REFRESH_AFTER_ROTATION}"
        )
    if source == "url":
        return (
            f"The username or password was refused. If the password changed, set the new URL: {terms.set('database_url', secret=True)}; "
            f"for Stitch's own credential, {terms.called('stitch_url')} instead. Then {pulumi_up()}. {REFRESH_AFTER_ROTATION}"
        )
    return (
        "The username or password was refused. If Heroku rotated the credentials, take the current URL "
        "(`heroku config:get DATABASE_URL -a <app>`); a stack with a Heroku source picks it up on `pulumi up`, "
        f"a stack with source url needs {terms.set('database_url', secret=True)} first."
    )


def connect_error_fix(
    message: str, target: str, *, host: str = "", role: str = "", database: str = "", source: str | None = None,
    credential: str | None = None, terms: Terms = PROGRAM_TERMS,
) -> str:  # fmt: skip
    """Map libpq's connection error to what the user should do about it, in the caller's terms (credentials_fix).

    source: the stack's `source` when a stack runs the check, for the credentials' fix; None from the CLI.
    credential: the stack's `stitch_credential` (Expectation.credential), None when unknown.
    """
    text = message.lower()
    if "does not support ssl" in text or "ssl was required" in text:
        return (
            "The server does not offer SSL, and Stitch connects to Heroku only with SSL: "
            'check the host, or turn on SSL on the server. In Stitch, keep "Connect using SSL" checked.'
        )
    if "password authentication failed" in text or "authentication failed" in text:
        return credentials_fix(source, credential, terms)
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


def wrong_part(message: str, *, user: str, host: str, database: str) -> str | None:
    """Which part of a connection URL the server's refusal (libpq's words) shows to be wrong, said without the
    password; None for what is no mistake in the URL (a server starting up, busy, or out of connections), which
    the verification waits out or reports.

    A SourceGuard asks it before any step, so a wrong URL stops `preview` instead of failing half-way through `up`."""
    text = message.lower()
    if "does not support ssl" in text or "ssl was required" in text:
        return f"the server at {host} does not offer SSL"
    if "authentication failed" in text:
        return f"authentication failed for user {quote_identifier(user)} (the user name or the password is wrong)"
    if "database" in text and "does not exist" in text:
        return f"the database {quote_identifier(database)} does not exist on {host}"
    if "role" in text and "does not exist" in text:
        return f"authentication failed for user {quote_identifier(user)} (no such role on {host})"
    if is_not_resolved(text):
        return f"the host name {host} does not resolve"
    return None


# -- least privilege: what Stitch's role may do beyond loading --------------------------------------------

# The role attributes that reach beyond Stitch's database, with what each would let a holder do.
ROLE_POWERS = {
    "rolsuper": "SUPERUSER (bypasses every permission check)",
    "rolcreaterole": "CREATEROLE (may create and alter roles)",
    "rolcreatedb": "CREATEDB (may create databases)",
    "rolreplication": "REPLICATION (may stream the whole cluster's changes)",
    "rolbypassrls": "BYPASSRLS (ignores row-level security)",
}

# PostgreSQL's built-in roles that give a power without any ACL entry (PostgreSQL's "Predefined Roles"), with what
# each lets a member do. Left out, on purpose (docs/least-privilege.md): pg_monitor itself (a member of
# pg_read_all_settings and pg_read_all_stats, which are listed, so it is judged through them), pg_stat_scan_tables
# (monitoring functions that read a table's pages, not its rows), pg_checkpoint (forces a checkpoint),
# pg_use_reserved_connections (the reserved slots) and pg_database_owner (the owner's, judged as the owner).
BUILTIN_ROLE_POWERS = {
    "pg_read_all_data": "reads every table, view and sequence, the app's too",
    "pg_write_all_data": "inserts, updates and deletes in every table, the app's too",
    "pg_execute_server_program": "runs shell commands on the database server with COPY ... PROGRAM",
    "pg_read_server_files": "reads any file the server may read, with COPY ... FROM a file or pg_read_file",
    "pg_write_server_files": "writes any file the server may write, with COPY ... TO a file",
    "pg_signal_backend": "cancels and ends other roles' sessions, the app's too, with pg_terminate_backend",
    "pg_read_all_settings": "reads every setting, the superuser-only ones too, where primary_conninfo and archive_command may hold secrets",
    "pg_read_all_stats": "reads every session's query text in pg_stat_activity, with the app's literal values",
    "pg_create_subscription": "creates subscriptions, so the server connects out and writes what it receives (PostgreSQL 16+)",
    "pg_maintain": "may LOCK, CLUSTER, REINDEX and VACUUM FULL every table, blocking the app (PostgreSQL 17+)",
}

# Each membership in pg_auth_members, with what it lets its member do. PostgreSQL 16 gives every grant its own
# INHERIT (the member has the role's privileges without SET ROLE) and SET (the member may SET ROLE to it) options;
# up to 15 a membership always allows SET ROLE and is inherited when the member role has INHERIT (rolinherit).
# ADMIN OPTION lets the member grant the role to anyone, itself included, so it counts as usable too.
MEMBERSHIP_EDGES_16 = sql.SQL("SELECT m.member, m.roleid, m.inherit_option AS inherits, m.set_option AS sets, m.admin_option AS admin "
                              "FROM pg_auth_members AS m")
MEMBERSHIP_EDGES_14 = sql.SQL("SELECT m.member, m.roleid, r.rolinherit AS inherits, true AS sets, m.admin_option AS admin "
                              "FROM pg_auth_members AS m JOIN pg_roles AS r ON r.oid = m.member")

# The roles Stitch's login may use, asked as that login (part of FACTS, so no round trip of its own). A path of
# memberships from the login is usable when it is some SET ROLE hops (each grant with SET) followed by inherited
# ones (each with INHERIT): SET ROLE is checked against the session's login, and the role set then has what it
# inherits. A grant WITH ADMIN OPTION on a usable path makes its role usable too. Each role keeps the login's direct
# memberships that lead to it (`via`: what a REVOKE takes away), whether inheritance alone reaches it
# (`inherited`; else it needs SET ROLE), and whether SET ROLE reaches it (`settable`: then its attributes, SUPERUSER
# and the like, are the session's; attributes are never inherited). PostgreSQL refuses membership loops, so the
# recursion ends; UNION drops the repeats of a role reached along several paths.
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
_MEMBERSHIP_CTES = """
edges AS ({edges}),
path (oid, via, sets, usable, inherited) AS (
  SELECT e.roleid, e.roleid, e.sets OR e.admin, e.sets OR e.inherits OR e.admin, e.inherits
    FROM edges AS e WHERE e.member = (SELECT oid FROM pg_roles WHERE rolname = session_user)
  UNION
  SELECT e.roleid, p.via, (p.sets AND e.sets) OR e.admin, (p.sets AND e.sets) OR e.inherits OR e.admin,
         p.inherited AND e.inherits
    FROM path AS p JOIN edges AS e ON e.member = p.oid
   WHERE p.usable),
usable AS (SELECT oid, array_agg(DISTINCT pg_get_userbyid(via) ORDER BY pg_get_userbyid(via)) AS via,
                  bool_or(sets) AS settable, bool_or(inherited) AS inherited
             FROM path WHERE usable GROUP BY oid)"""

# What Stitch's role may do to objects that are not its own, asked as that role; read only when it is neither the
# owner nor may use the owner's role (which reach every object anyway). Its own are the schemas it owns (those it
# created, or was handed) and the tables it owns; system schemas are left out (the catalogs are PUBLIC's to read,
# which Stitch needs). A privilege counts however the role holds it: granted to it, to PUBLIC, or to a role it may
# use (`usable`, from FACTS: inherited or through SET ROLE), read from the ACLs themselves (aclexplode; a NULL ACL is
# the owner's default, acldefault) so the REVOKE can name the grantee. Column grants count too: a table-level
# REVOKE takes them as well (PostgreSQL's REVOKE reference). Schemas: CREATE from anyone (PostgreSQL 14 and older
# grant CREATE on `public` to PUBLIC by default), USAGE only where granted to the role itself (PUBLIC's USAGE on
# `public` alone reaches nothing). An extension's own tables and views are left out: what it grants PUBLIC is the
# extension's design, not the app's data (pg_stat_statements, which Heroku installs in every database, is readable
# by PUBLIC; so is PostGIS's spatial_ref_sys).
OBJECT_PRIVILEGES_QUERY = sql.SQL("""
WITH me AS (SELECT oid FROM pg_roles WHERE rolname = session_user),
     theirs AS (SELECT n.oid, n.nspname, n.nspowner, n.nspacl
                  FROM pg_namespace AS n, me
                 WHERE n.nspowner <> me.oid
                   AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%%'),
     rels AS (SELECT c.oid, t.nspname, c.relname, c.relowner, c.relacl
                FROM pg_class AS c JOIN theirs AS t ON t.oid = c.relnamespace, me
               WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relowner <> me.oid
                 AND NOT EXISTS (SELECT 1 FROM pg_depend AS e
                                  WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')),
     acls AS (SELECT 'table' AS kind, r.nspname AS schema, r.relname AS name, a.privilege_type, a.grantee
                FROM rels AS r CROSS JOIN LATERAL aclexplode(coalesce(r.relacl, acldefault('r', r.relowner))) AS a
               UNION
              SELECT 'table', r.nspname, r.relname, a.privilege_type, a.grantee
                FROM rels AS r JOIN pg_attribute AS att ON att.attrelid = r.oid AND att.attacl IS NOT NULL AND NOT att.attisdropped
               CROSS JOIN LATERAL aclexplode(att.attacl) AS a
               UNION
              SELECT 'schema', t.nspname, t.nspname, a.privilege_type, a.grantee
                FROM theirs AS t CROSS JOIN LATERAL aclexplode(coalesce(t.nspacl, acldefault('n', t.nspowner))) AS a)
SELECT kind, schema, name, privilege_type AS privilege,
       CASE WHEN grantee = 0 THEN NULL ELSE pg_get_userbyid(grantee) END AS grantee
  FROM acls, me
 WHERE (grantee = 0 OR grantee = me.oid OR grantee = ANY (%(usable)s::oid[]))
   AND ((kind = 'table' AND privilege_type = ANY (%(table_privileges)s))
        OR (kind = 'schema' AND (privilege_type = 'CREATE' OR (privilege_type = 'USAGE' AND grantee = me.oid))))
 ORDER BY kind DESC, schema, name, privilege_type, grantee NULLS FIRST
""")


# Whether the stack's login may grant on its database. GRANT and REVOKE on an object are its owner's, or
# done as the owner by a role that has the owner's privileges (a member with INHERIT, which
# pg_has_role(..., 'USAGE') tests, or a superuser; PostgreSQL's GRANT reference). For anyone else
# `GRANT ... ON DATABASE` and `REVOKE ALL ...` succeed with only a WARNING ("no privileges were granted",
# "no privileges could be revoked"), so the postgresql provider's Grant would report success and grant nothing.
LOGIN_OWNERSHIP_QUERY = sql.SQL("""
SELECT current_user AS login,
       pg_get_userbyid(d.datdba) AS database_owner,
       d.datname AS database,
       pg_has_role(current_user, d.datdba, 'USAGE') AS acts_as_owner
  FROM pg_database AS d
 WHERE d.datname = current_database()
""")


def not_owner_fix(key: str, login: str, owner: str, database: str, terms: Terms = PROGRAM_TERMS) -> str:
    """Why a stack whose login neither owns its database nor acts for the owner is stopped, and the ways out."""
    who, db = quote_identifier(login), quote_identifier(database)
    head = (
        f"{key}: its login {who} does not own the database {db} (its owner is {quote_identifier(owner)}) and is no member "
        "of the owner's role, so this stack could grant Stitch nothing: PostgreSQL answers a GRANT or REVOKE ON DATABASE "
        'by anyone else with a mere warning ("no privileges were granted"), and a role made for Stitch would be left '
        "without CONNECT and CREATE. Nothing was changed. "
    )
    if key == "database_config_var":
        return head + (
            "Point database_config_var at the config var of the database's default (owner) credential, usually "
            "DATABASE_URL (`heroku pg:credentials:url <database> --name default` shows it): "
            f"{terms.set('database_config_var', 'DATABASE_URL')}. "
            f"Give Stitch another credential with {terms.called('stitch_config_var')} instead."
        )
    return head + (
        f"Either give the stack the owner's URL: {terms.set('database_url', secret=True)}; or, as a "
        f"superuser or the owner, let {who} act for the owner: GRANT {quote_identifier(owner)} TO {who}; or, as a "
        f"superuser, make it the owner: ALTER DATABASE {db} OWNER TO {who}; then {pulumi_up()}."
    )


def role_name_text(name: str) -> str:
    """A role's name as psql takes it: a built-in role as PostgreSQL spells it (pg_read_all_data; the pg_ prefix is
    reserved for them), any other quoted."""
    return name if re.fullmatch(r"pg_[a-z_]+", name) else quote_identifier(name)


def revoke_membership_text(granted: str, role: str) -> str:
    """The REVOKE that takes `role` out of `granted` (a superuser, or a role with ADMIN OPTION on it, may run it)."""
    return f"REVOKE {role_name_text(granted)} FROM {quote_identifier(role)};"


def object_privilege_revokes(role: str, held: list[dict[str, Any]]) -> list[str]:
    """The REVOKEs that take those privileges from `role`, one per object and grantee, in the rows' order.

    Held through PUBLIC: REVOKE ... FROM PUBLIC (every role loses it, as PostgreSQL 15 has it for `public`).
    Held through another role's grant: REVOKE the login's own membership that leads to that role (`via`: the role
    itself, or the first role of a nested chain), which leaves the other members theirs.
    """
    statements: dict[str, None] = {}
    grouped: dict[tuple[str, str, str, str | None], list[str]] = {}
    vias: dict[str | None, list[str]] = {}
    for row in held:
        key = (str(row["kind"]), str(row["schema"]), str(row["name"]), row["grantee"])
        grouped.setdefault(key, []).append(str(row["privilege"]))
        vias[row["grantee"]] = list(row.get("via") or [row["grantee"]])
    for (kind, schema, name, grantee), privileges in grouped.items():
        if grantee is not None and grantee != role:
            statements.update(dict.fromkeys(revoke_membership_text(via, role) for via in vias[grantee]))
            continue
        target = f"SCHEMA {quote_identifier(schema)}" if kind == "schema" else f"TABLE {quote_identifier(schema)}.{quote_identifier(name)}"
        who = "PUBLIC" if grantee is None else quote_identifier(role)
        statements[f"REVOKE {', '.join(privileges)} ON {target} FROM {who};"] = None
    return list(statements)


def membership_words(membership: dict[str, Any]) -> str | None:
    """What a usable membership (a `memberships` entry of FACTS) allows, or None if nothing least privilege rules
    out: a built-in role's power, a settable role's attributes, a role that owns objects."""
    name, via = membership["role"], [v for v in membership["via"] if v != membership["role"]]
    powers = []
    if membership["builtin"]:
        powers.append(BUILTIN_ROLE_POWERS[name])
    if membership["attributes"]:
        powers.append("has " + ", ".join(ROLE_POWERS[a] for a in membership["attributes"]) + " after SET ROLE")
    if membership["owns"]:
        powers.append(f"owns {membership['owns']} object(s) outside this database (databases, or tables and schemas in others), "
                      "which its members may change and drop")
    if not powers:
        return None
    through = f" through {', '.join(role_name_text(v) for v in via)}" if via else ""
    how = "" if membership["inherited"] else " (usable by SET ROLE)"
    return f"is a member of {role_name_text(name)}{through}{how}, which {' and '.join(powers)}"


def object_privilege_words(held: list[dict[str, Any]], shown: int = 8) -> str:
    """'may SELECT, UPDATE public.orders; CREATE in schema public' for the check's detail, the first `shown` objects."""
    by_object: dict[tuple[str, str, str], list[str]] = {}
    for row in held:
        privileges = by_object.setdefault((str(row["kind"]), str(row["schema"]), str(row["name"])), [])
        privileges += [str(row["privilege"])] if row["privilege"] not in privileges else []
    parts = [
        f"{', '.join(p)} in schema {schema}" if kind == "schema" else f"{', '.join(p)} {schema}.{name}"
        for (kind, schema, name), p in by_object.items()
    ]
    more = f" and {len(parts) - shown} more" if len(parts) > shown else ""
    return "may " + "; ".join(parts[:shown]) + more + " (outside its own schemas)"


# Run as the database owner (read-only, in preview): may it create Stitch's role, and does that role exist?
# CREATE ROLE needs CREATEROLE or SUPERUSER (PostgreSQL's CREATE ROLE reference).
OWNER_FACTS_QUERY = sql.SQL("""
SELECT current_user AS owner,
       (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) AS database_owner,
       (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) AS may_create_roles,
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %(role)s) AS role_exists,
       (SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %(role)s) AS role_comment,
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


# Whether Stitch's role is exactly what the postgresql provider's create leaves (resource_postgresql_role.go:
# CREATE ROLE ... WITH <the attributes components/stitch_role.py sets>, in one transaction, nothing else), owning
# and holding nothing yet: no object, no privilege anywhere (pg_shdepend spans every database), no membership.
# PostgreSQL 16 grants a role made by a non-superuser to its creator (createrole_self_grant), so that one
# membership is allowed there. Once the stack's Grant or handover ran, the role holds something and this is false.
JUST_CREATED_ROLE_QUERY = sql.SQL("""
SELECT EXISTS (
  SELECT 1 FROM pg_roles AS r
   WHERE r.rolname = %(role)s
     AND r.rolcanlogin AND r.rolinherit AND NOT r.rolsuper AND NOT r.rolcreatedb AND NOT r.rolcreaterole
     AND NOT r.rolreplication AND NOT r.rolbypassrls AND r.rolconnlimit = %(connection_limit)s AND r.rolconfig IS NULL
     AND NOT EXISTS (SELECT 1 FROM pg_shdepend AS d WHERE d.refclassid = 'pg_authid'::regclass AND d.refobjid = r.oid)
     AND NOT EXISTS (SELECT 1 FROM pg_auth_members AS m
                      WHERE m.member = r.oid
                         OR (m.roleid = r.oid AND NOT (current_setting('server_version_num')::int >= 160000
                                                       AND m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user))))
) AS just_created
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


def role_exists_fix(role: str, terms: Terms = PROGRAM_TERMS) -> str:
    return (
        f'A role "{role}" already exists on the server and this stack did not make it (its comment does not say so). '
        f"Pick another name: {terms.set('stitch_role_name', f'{role}_2')}; or, if it is a role made for Stitch by hand, "
        f"give its URL instead: {terms.set('stitch_url', secret=True)}"
    )


# Which stack made Stitch's role, and whether it let go of it, is written on the role itself (COMMENT ON ROLE, kept
# in pg_shdescription): a role a stack made and `pulumi destroy` kept is then provably that stack's, and its next
# `up` takes it back instead of stopping at "role already exists". Nothing else in this project comments on roles,
# and the postgresql provider's Role has no comment attribute (resource_postgresql_role.go), so no update clears it.
ROLE_COMMENT_QUERY = sql.SQL("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %(role)s")


def comment_on_role(role: str, comment: str) -> sql.Composed:
    """COMMENT ON ROLE, which needs CREATEROLE (or ADMIN OPTION on the role from PostgreSQL 16): the owner that made it."""
    return sql.SQL("COMMENT ON ROLE {} IS {}").format(sql.Identifier(role), sql.Literal(comment))


def set_role_password(role: str, password: str) -> sql.Composed:
    """The password of a role taken back after a destroy: the stack's new one (the old one went with the state)."""
    return sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))


# -- Stitch's load errors: what the server told Stitch, and what to do about it ----------------------------

# Which of the schemas Stitch named in its loads exist here (pg_namespace is readable by every role).
SCHEMAS_PRESENT_QUERY = sql.SQL("SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY(%(names)s)")

# Stitch's loading-error reference for PostgreSQL (stitchdata/docs _data/destinations/postgres/loading-errors.yml)
# and the server's error codes (PostgreSQL's "Error Codes" appendix): 42501 insufficient_privilege, 28P01
# invalid_password (28000 invalid_authorization_specification), 53100 disk_full, 53300 too_many_connections.
LOADING_ERRORS_PAGE = "https://www.stitchdata.com/docs/troubleshooting/destinations/postgres-data-loading-errors"
PERMISSION_DENIED = re.compile(r"permission denied for (?P<kind>table|relation|schema|database|sequence) \"?(?P<name>[^\s\"]+)\"?", re.I)
CANNOT_CREATE_SCHEMA = "encountered error while attempting to create new schema"
DISK_FULL = ("no space left on device", "could not extend file", "disk full")
PASSWORD_REFUSED = ("password authentication failed", "authentication failed for user")


@dataclass(frozen=True)
class LoadCause:
    """Why a load failed, in one word (privilege, password, storage, connections, other), and the fix."""

    cause: str
    fix: str


def plan_fix(source: str | None) -> str:
    """The two ways out of a full database: more storage, or less data."""
    if source in ("heroku", "heroku-existing"):
        return (
            "take a larger plan (source heroku: pulumi config set plan essential-1, or a larger one, then pulumi up; "
            "heroku-existing: heroku addons:upgrade) or delete data (tables Stitch loaded and no longer needs, or the app's)"
        )
    return "give the server more storage, or delete data (tables Stitch loaded and no longer needs, or others)"


def load_error_cause(
    text: str, sql_state: str | None, *, schema: str, role: str, source: str | None, over_capacity: bool | None = None
) -> LoadCause:
    """Map the server's words in a failed Stitch load (Stitch's message and the warehouse message) to a fix.

    schema: the load's source_name, the schema Stitch loads into. over_capacity: whether the database is known to
    be at or over its plan's storage limit (None: not known), since Heroku's enforcement of that limit takes
    INSERT and CREATE from the credential (Dev Center, "Heroku Postgres Over Plan Capacity") and the server then
    says "permission denied" too: a GRANT would fight Heroku; a larger plan or less data is the way out."""
    words = text.lower()
    state = (sql_state or "").upper()
    heroku = source in ("heroku", "heroku-existing")
    denied = PERMISSION_DENIED.search(text)
    if denied or state == "42501" or CANNOT_CREATE_SCHEMA in words:
        kind = denied.group("kind").lower() if denied else "database" if CANNOT_CREATE_SCHEMA in words else ""
        name = denied.group("name") if denied else ""
        capacity = (
            f"the database is over its plan's storage limit and Heroku restricted it (it takes INSERT and CREATE): {plan_fix(source)}"
        )
        if over_capacity:
            return LoadCause("storage", capacity[0].upper() + capacity[1:])
        if kind in ("table", "relation"):
            table = name if "." in name else f"{schema}.{name}"
            missing = (
                f"Stitch's role {role} lacks INSERT, UPDATE or DELETE on table {table} (Stitch upserts into the tables it loaded): "
                f"as the table's owner run GRANT INSERT, UPDATE, DELETE ON {_qualified(table)} TO {quote_identifier(role)};"
            )
        elif kind == "schema":
            missing = (
                f"Stitch's role {role} lacks USAGE or CREATE on schema {name}: as the schema's owner run "
                f"GRANT USAGE, CREATE ON SCHEMA {quote_identifier(name)} TO {quote_identifier(role)};"
            )
        elif kind == "database":
            database = name or "<database>"
            missing = (
                f"Stitch's role {role} lacks CREATE on the database, so it cannot create schema {schema}: pulumi up (or the reconcile) "
                f"grants it; or as the owner run {grant_create_text(database, role) if name else 'GRANT CREATE ON DATABASE ...'}"
            )
        else:
            missing = f"Stitch's role {role} lacks a privilege the load needs (the message names the object): grant it as its owner"
        if heroku and over_capacity is None:
            return LoadCause("privilege", f"{missing}; or, if {capacity}")
        return LoadCause("privilege", missing)
    if state in ("28P01", "28000") or any(marker in words for marker in PASSWORD_REFUSED):
        return LoadCause(
            "password",
            "Stitch holds a password the database no longer accepts: a rotation Stitch has not got, or a password typed into "
            "Stitch's UI; the reconcile sends Stitch the stack's current credential (python -m ops.reconcile, or pulumi up), "
            "and the error clears at Stitch's next load",
        )
    if state == "53100" or any(marker in words for marker in DISK_FULL):
        return LoadCause("storage", f'The database is full (Stitch: "The PostgreSQL instance is full"): {plan_fix(source)}')
    if state == "53300" or TOO_MANY_FOR_ROLE in words or TOO_MANY_FOR_DATABASE in words or any(m in words for m in TOO_MANY_CLIENTS):
        return LoadCause("connections", connect_error_fix(text, "the database", role=role, source=source))
    return LoadCause("other", f"see Stitch's message and its PostgreSQL loading-error reference, {LOADING_ERRORS_PAGE}")


def _qualified(table: str) -> str:
    schema, _, name = table.partition(".")
    return f"{quote_identifier(schema)}.{quote_identifier(name)}"


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

"""Database setup for the PostgREST model: roles, hardening, and the demo schema with row-level security.

Run once as a superuser (the embedded cluster, `fleet dev`, the tests and the bench do it for you). On a
database you manage, apply the same statements: `fleet_db.provision.provision(admin_url, ...)`.

Why each hardening step exists (the server runs the caller's SQL; PostgreSQL is the guard):
- the login role is NOINHERIT and owns nothing: its own privileges are only CONNECT and set_config;
- set_config() is revoked from PUBLIC, so a caller's statement can't rewrite `fleet.subject`/`role` mid-call;
- plpgsql/sql language usage and the database's TEMP/CREATE are revoked: no DO blocks, no functions, no
  temp objects;
- large-object writers are revoked: lo_create() etc. would otherwise work even in a read-only transaction;
- so are built-ins whose side effects survive a read-only rollback (SIDE_EFFECT_FUNCTIONS: WAL messages,
  transaction ids, notifications, index maintenance);
- temp_file_limit caps the temporary files one session may write (sorts and hashes that spill).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

__all__ = ["DEMO_MEMBERS", "SIDE_EFFECT_FUNCTIONS", "TEMP_FILE_LIMIT", "RoleNames", "provision", "seed_demo"]

DEMO_MEMBERS: Mapping[str, str] = {
    "alice": "platform",
    "bob": "payments",
    "carol": "platform",
    "dave": "payments",
}

DEMO_TICKETS: Sequence[tuple[str, str, str, int, str]] = (
    ("Rotate the gateway signing key", "platform", "open", 2, "alice"),
    ("Postgres 15 upgrade runbook", "platform", "in_progress", 3, "alice"),
    ("Flaky deploy on node-7", "platform", "open", 1, "carol"),
    ("Grafana dashboard for MCP latency", "platform", "closed", 4, "carol"),
    ("Refund webhook retries twice", "payments", "open", 1, "bob"),
    ("PCI scan findings Q3", "payments", "in_progress", 2, "bob"),
    ("Currency rounding in invoices", "payments", "open", 2, "dave"),
    ("Chargeback export to CSV", "payments", "closed", 5, "dave"),
)

# Functions a caller must not reach (argument lists resolved at provisioning time).
_REVOKED_FUNCTIONS = (
    "set_config",
    "lo_create",
    "lo_creat",
    "lo_from_bytea",
    "lo_import",
    "lo_export",
    "lo_unlink",
    "lo_put",
    "lowrite",
    "lo_truncate",
    "lo_truncate64",
    "lo_open",
    *(
        # Side effects that survive a READ ONLY transaction's rollback, or write without a table
        # (finding 12.3): WAL records, transaction ids, notifications, index maintenance.
        "pg_logical_emit_message",  # writes WAL of any size, even in a rolled-back read-only call
        "pg_current_xact_id",  # assigns a transaction id (xid consumption) to a read-only call
        "txid_current",  # the same, older name
        "pg_notify",  # a message to other sessions' listeners
        "brin_summarize_new_values",  # index maintenance: writes WAL
        "brin_summarize_range",
        "brin_desummarize_range",
        "gin_clean_pending_list",
    ),
)
# Functions PUBLIC may no longer execute for the side effects above (each has a hostile test).
SIDE_EFFECT_FUNCTIONS = _REVOKED_FUNCTIONS[_REVOKED_FUNCTIONS.index("pg_logical_emit_message") :]
# Temporary files one session may write (sorts, hashes that spill): one ORDER BY random() over 5·10⁷
# rows wrote 700 MB in 5 s without it. A superuser-only setting, so a caller cannot raise it.
TEMP_FILE_LIMIT = "256MB"


@dataclass(frozen=True)
class RoleNames:
    authenticator: str = "fleet_authenticator"
    reader: str = "fleet_reader"
    writer: str = "fleet_writer"


_DEMO_SCHEMA = """
DROP SCHEMA IF EXISTS demo CASCADE;
CREATE SCHEMA demo;
COMMENT ON SCHEMA demo IS 'mcp-fleet demo: tickets guarded by row-level security';

CREATE FUNCTION demo.current_subject() RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('fleet.subject', true), '') $$;
COMMENT ON FUNCTION demo.current_subject() IS 'The MCP caller, set by fleet-db for each call';

CREATE TABLE demo.members (
  subject text PRIMARY KEY,
  team text NOT NULL,
  display_name text
);
COMMENT ON TABLE demo.members IS 'Who is on which team (read by the ticket policies)';

CREATE FUNCTION demo.my_teams() RETURNS SETOF text LANGUAGE sql STABLE
  AS $$ SELECT team FROM demo.members WHERE subject = demo.current_subject() $$;

CREATE TABLE demo.tickets (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  body text NOT NULL DEFAULT '',
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'closed')),
  priority integer NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
  owner text NOT NULL DEFAULT demo.current_subject() REFERENCES demo.members (subject),
  team text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text
);
COMMENT ON TABLE demo.tickets IS 'Support tickets: visible to their owner and to the owner''s team';
COMMENT ON COLUMN demo.tickets.updated_by IS 'The MCP caller who last wrote the row (set by a trigger)';
CREATE INDEX tickets_team_idx ON demo.tickets (team);
CREATE INDEX tickets_owner_status_idx ON demo.tickets (owner, status);

CREATE FUNCTION demo.stamp_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  NEW.updated_by := demo.current_subject();
  RETURN NEW;
END $$;
CREATE TRIGGER tickets_stamp BEFORE INSERT OR UPDATE ON demo.tickets
  FOR EACH ROW EXECUTE FUNCTION demo.stamp_ticket();

ALTER TABLE demo.tickets ENABLE ROW LEVEL SECURITY;
CREATE POLICY tickets_visible ON demo.tickets FOR SELECT
  USING (owner = demo.current_subject() OR team IN (SELECT demo.my_teams()));
CREATE POLICY tickets_insert ON demo.tickets FOR INSERT
  WITH CHECK (owner = demo.current_subject() AND team IN (SELECT demo.my_teams()));
CREATE POLICY tickets_update ON demo.tickets FOR UPDATE
  USING (owner = demo.current_subject() OR team IN (SELECT demo.my_teams()))
  WITH CHECK (team IN (SELECT demo.my_teams()));
CREATE POLICY tickets_delete ON demo.tickets FOR DELETE
  USING (owner = demo.current_subject());

CREATE VIEW demo.open_tickets WITH (security_invoker = true) AS
  SELECT id, title, priority, owner, team, updated_at FROM demo.tickets WHERE status <> 'closed';
COMMENT ON VIEW demo.open_tickets IS 'Tickets not closed yet (row-level security applies: security_invoker)';

-- A function with a side effect: a read tool calling it must fail (read-only transaction).
CREATE FUNCTION demo.touch_ticket(ticket_id bigint) RETURNS bigint LANGUAGE sql VOLATILE
  AS $$ UPDATE demo.tickets SET updated_at = now() WHERE id = ticket_id RETURNING id $$;
"""


def _execute(conn: psycopg.Connection, statement: sql.SQL | sql.Composed | str) -> None:
    conn.execute(sql.SQL(statement) if isinstance(statement, str) else statement)


def _ensure_role(conn: psycopg.Connection, name: str, options: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
    verb = "ALTER" if exists else "CREATE"
    _execute(conn, sql.SQL(verb + " ROLE {} " + options).format(sql.Identifier(name)))


def _harden(
    conn: psycopg.Connection, dbname: str, roles: RoleNames, *, read_all_stats: bool, temp_file_limit: str
) -> None:
    auth, reader, writer = (sql.Identifier(r) for r in (roles.authenticator, roles.reader, roles.writer))
    db = sql.Identifier(dbname)
    for statement in (
        sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db),
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, auth),
        sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
        sql.SQL("REVOKE USAGE ON LANGUAGE plpgsql, sql FROM PUBLIC"),
        sql.SQL("GRANT {}, {} TO {}").format(reader, writer, auth),
        sql.SQL("GRANT {} TO {}").format(reader, writer),
    ):
        _execute(conn, statement)
    # database_health/top_queries then see every session's statement text (all callers share the login
    # role, so without it other sessions' queries are hidden from everyone).
    verb = "GRANT pg_read_all_stats TO {}" if read_all_stats else "REVOKE pg_read_all_stats FROM {}"
    _execute(conn, sql.SQL(verb).format(reader))
    rows = conn.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace "
        "AND p.proname = ANY(%s)",
        [list(_REVOKED_FUNCTIONS)],
    ).fetchall()
    for (signature,) in rows:
        _execute(conn, sql.SQL("REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC").format(sql.SQL(signature)))
    # The server itself sets the per-call GUCs before switching to the caller's role.
    _execute(conn, sql.SQL("GRANT EXECUTE ON FUNCTION set_config(text, text, boolean) TO {}").format(auth))
    # Role settings apply at login, and only the login role logs in (SET LOCAL ROLE applies none), so
    # the limit is set there; on the caller roles too, for anyone who logs in as them directly.
    # Re-running provisioning also resets whatever else those roles' settings may have gained.
    for role in (auth, reader, writer):
        _execute(conn, sql.SQL("ALTER ROLE {} RESET ALL").format(role))
        _execute(
            conn, sql.SQL("ALTER ROLE {} SET temp_file_limit = {}").format(role, sql.Literal(temp_file_limit))
        )


def _demo(conn: psycopg.Connection, roles: RoleNames) -> None:
    _execute(conn, _DEMO_SCHEMA)
    reader, writer = sql.Identifier(roles.reader), sql.Identifier(roles.writer)
    _execute(conn, sql.SQL("GRANT USAGE ON SCHEMA demo TO {}").format(reader))
    _execute(conn, sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA demo TO {}").format(reader))
    # Column-level grants: a writer may not move a ticket to another owner, nor forge updated_by.
    _execute(
        conn,
        sql.SQL(
            "GRANT INSERT (title, body, status, priority, owner, team), "
            "UPDATE (title, body, status, priority), "
            "DELETE ON demo.tickets TO {}"
        ).format(writer),
    )
    seed_demo(conn)


def seed_demo(conn: psycopg.Connection, members: Mapping[str, str] = DEMO_MEMBERS) -> None:
    """(Re)load the demo rows; the tickets' RLS makes alice and bob see different answers."""
    with conn.transaction():
        _execute(conn, "TRUNCATE demo.tickets, demo.members RESTART IDENTITY")
        for subject, team in members.items():
            conn.execute(
                "INSERT INTO demo.members (subject, team, display_name) VALUES (%s, %s, %s)",
                [subject, team, subject.title()],
            )
        for title, team, status, priority, owner in DEMO_TICKETS:
            if owner in members:
                # the trigger stamps updated_by with the subject
                conn.execute("SELECT set_config('fleet.subject', %s, true)", [owner])
                conn.execute(
                    "INSERT INTO demo.tickets (title, team, status, priority, owner) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    [title, team, status, priority, owner],
                )
        conn.execute("SELECT set_config('fleet.subject', '', true)")


def provision(
    admin_url: str,
    *,
    dbname: str = "fleet",
    password: str,
    roles: RoleNames = RoleNames(),
    demo: bool = True,
    read_all_stats: bool = True,
    temp_file_limit: str = TEMP_FILE_LIMIT,
) -> str:
    """Create the database, roles and hardening (and the demo schema); return the login role's URL.

    `read_all_stats` puts the reader role in pg_read_all_stats: database_health then shows every
    session's statement text to every db:read caller (an operator's view, off for untrusted callers)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone():
            _execute(conn, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        _ensure_role(
            conn, roles.authenticator, "LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
        )
        # PASSWORD NULL: a caller role never logs in; re-provisioning undoes a password set on it
        _ensure_role(conn, roles.reader, "NOLOGIN PASSWORD NULL")
        _ensure_role(conn, roles.writer, "NOLOGIN PASSWORD NULL")
    _set_password(admin_url, roles.authenticator, password)
    target = psycopg.conninfo.make_conninfo(admin_url, dbname=dbname)
    with psycopg.connect(target, autocommit=True) as conn:
        if _has_pgss(conn):
            _execute(conn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        _harden(conn, dbname, roles, read_all_stats=read_all_stats, temp_file_limit=temp_file_limit)
        if demo:
            _demo(conn, roles)
    return psycopg.conninfo.make_conninfo(target, user=roles.authenticator, password=password)


def _has_pgss(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "SELECT current_setting('shared_preload_libraries') ~ 'pg_stat_statements' "
        "AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements')"
    ).fetchone()
    return bool(row and row[0])


def _set_password(admin_url: str, role: str, password: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        _execute(
            conn,
            sql.SQL("ALTER ROLE {} LOGIN NOINHERIT PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            ),
        )

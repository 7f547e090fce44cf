"""The store's tables, as numbered migrations: a database is brought from its version to the last.

One DDL for both engines: SQLite takes PostgreSQL's type names by affinity, and both know
``INSERT ... ON CONFLICT DO NOTHING``. A migration is never edited once released; a change of
shape is a new one, so any older database upgrades in place.
"""

from __future__ import annotations

# (version, statements). Version 1 was the first store (stints only); 2 added agent states; 3 the
# survey's answers and the IVR's choices; 4 where a stint comes from (AMI, or queue_log's back-fill);
# 5 the daemon's checkpoints (state in base64: one column type for both engines); 6 the calls
# Asterisk counted that the daemon never saw end; 7 wrap-up; 8 sessions, pauses, unanswered rings;
# 9 tickets.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE stints (
                server TEXT NOT NULL,
                position BIGINT NOT NULL,
                call_id TEXT NOT NULL,
                linked_id TEXT NOT NULL,
                queue TEXT NOT NULL,
                caller_num TEXT NOT NULL,
                caller_name TEXT NOT NULL,
                outcome TEXT NOT NULL,
                joined_at DOUBLE PRECISION,
                ended_at DOUBLE PRECISION NOT NULL,
                wait_s DOUBLE PRECISION,
                talk_s DOUBLE PRECISION,
                agent TEXT,
                interface TEXT,
                ended_by TEXT,
                transfer_target TEXT,
                short_abandon INTEGER NOT NULL,
                ring_no_answer INTEGER NOT NULL,
                join_seen INTEGER NOT NULL,
                end_seen INTEGER NOT NULL,
                PRIMARY KEY (server, call_id, queue, ended_at)
            )""",
            "CREATE INDEX stints_by_end ON stints (ended_at)",
            "CREATE TABLE store_positions (server TEXT PRIMARY KEY, position BIGINT NOT NULL)",
        ),
    ),
    (
        2,
        (
            """CREATE TABLE agent_states (
                server TEXT NOT NULL,
                position BIGINT NOT NULL,
                at DOUBLE PRECISION NOT NULL,
                interface TEXT NOT NULL,
                name TEXT NOT NULL,
                state TEXT NOT NULL,
                reason TEXT NOT NULL,
                PRIMARY KEY (server, interface, at, state, reason)
            )""",
            "CREATE INDEX agent_states_by_time ON agent_states (at)",
            "CREATE INDEX stints_by_caller ON stints (caller_num, ended_at)",
        ),
    ),
    (
        3,
        (
            """CREATE TABLE survey_answers (
                server TEXT NOT NULL,
                position BIGINT NOT NULL,
                at DOUBLE PRECISION NOT NULL,
                call_id TEXT NOT NULL,
                linked_id TEXT NOT NULL,
                queue TEXT NOT NULL,
                member TEXT NOT NULL,
                caller_num TEXT NOT NULL,
                score INTEGER NOT NULL,
                PRIMARY KEY (server, call_id, at)
            )""",
            "CREATE INDEX survey_answers_by_time ON survey_answers (at)",
            """CREATE TABLE ivr_choices (
                server TEXT NOT NULL,
                position BIGINT NOT NULL,
                at DOUBLE PRECISION NOT NULL,
                call_id TEXT NOT NULL,
                linked_id TEXT NOT NULL,
                queue TEXT NOT NULL,
                caller_num TEXT NOT NULL,
                choice TEXT NOT NULL,
                PRIMARY KEY (server, call_id, at)
            )""",
        ),
    ),
    (4, ("ALTER TABLE stints ADD COLUMN source TEXT NOT NULL DEFAULT 'ami'",)),
    (
        5,
        (
            """CREATE TABLE checkpoints (
                server TEXT PRIMARY KEY,
                position BIGINT NOT NULL,
                taken_at DOUBLE PRECISION NOT NULL,
                state TEXT NOT NULL
            )""",
        ),
    ),
    (
        6,
        (
            """CREATE TABLE unseen_calls (
                server TEXT NOT NULL,
                position BIGINT NOT NULL,
                at DOUBLE PRECISION NOT NULL,
                queue TEXT NOT NULL,
                since DOUBLE PRECISION NOT NULL,
                calls INTEGER NOT NULL,
                PRIMARY KEY (server, queue, at)
            )""",
        ),
    ),
    (7, ("ALTER TABLE stints ADD COLUMN wrapup_s DOUBLE PRECISION",)),  # AHT = talk + wrap-up
    (
        8,
        (  # agents' sessions and pauses per queue, as intervals; each unanswered ring
            """CREATE TABLE agent_sessions (
                server TEXT NOT NULL,
                position BIGINT NOT NULL,
                queue TEXT NOT NULL,
                interface TEXT NOT NULL,
                name TEXT NOT NULL,
                since DOUBLE PRECISION NOT NULL,
                until DOUBLE PRECISION NOT NULL,
                whole INTEGER NOT NULL,
                PRIMARY KEY (server, queue, interface, since)
            )""",
            "CREATE INDEX agent_sessions_by_end ON agent_sessions (until)",
            """CREATE TABLE agent_pauses (
                server TEXT NOT NULL,
                position BIGINT NOT NULL,
                queue TEXT NOT NULL,
                interface TEXT NOT NULL,
                name TEXT NOT NULL,
                reason TEXT NOT NULL,
                since DOUBLE PRECISION NOT NULL,
                until DOUBLE PRECISION NOT NULL,
                whole INTEGER NOT NULL,
                PRIMARY KEY (server, queue, interface, since)
            )""",
            "CREATE INDEX agent_pauses_by_end ON agent_pauses (until)",
            """CREATE TABLE ring_no_answers (
                server TEXT NOT NULL,
                position BIGINT NOT NULL,
                at DOUBLE PRECISION NOT NULL,
                call_id TEXT NOT NULL,
                queue TEXT NOT NULL,
                member TEXT NOT NULL,
                interface TEXT NOT NULL,
                ring_s DOUBLE PRECISION,
                PRIMARY KEY (server, call_id, interface, at)
            )""",
            "CREATE INDEX ring_no_answers_by_time ON ring_no_answers (at)",
        ),
    ),
    (
        9,
        (  # the tickets agents document calls in (callcenter.cti.tickets): one per call
            """CREATE TABLE tickets (
                server TEXT NOT NULL,
                call_id TEXT NOT NULL,
                caller_num TEXT NOT NULL,
                caller_name TEXT NOT NULL,
                queue TEXT NOT NULL,
                agent TEXT NOT NULL,
                interface TEXT NOT NULL,
                category TEXT NOT NULL,
                impact TEXT NOT NULL,
                urgency TEXT NOT NULL,
                priority TEXT NOT NULL,
                level INTEGER NOT NULL,
                status TEXT NOT NULL,
                solved_on_call INTEGER NOT NULL,
                summary TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                due_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (server, call_id)
            )""",
            "CREATE INDEX tickets_by_caller ON tickets (caller_num, created_at)",
            "CREATE INDEX tickets_by_creation ON tickets (created_at)",
        ),
    ),
)

LATEST = MIGRATIONS[-1][0]

STINT_COLUMNS = (
    "server",
    "position",
    "call_id",
    "linked_id",
    "queue",
    "caller_num",
    "caller_name",
    "outcome",
    "joined_at",
    "ended_at",
    "wait_s",
    "talk_s",
    "agent",
    "interface",
    "ended_by",
    "transfer_target",
    "short_abandon",
    "ring_no_answer",
    "join_seen",
    "end_seen",
    "source",
    "wrapup_s",
)
AGENT_COLUMNS = ("server", "position", "at", "interface", "name", "state", "reason")
SURVEY_COLUMNS = (
    "server",
    "position",
    "at",
    "call_id",
    "linked_id",
    "queue",
    "member",
    "caller_num",
    "score",
)
SESSION_COLUMNS = ("server", "position", "queue", "interface", "name", "since", "until", "whole")
PAUSE_COLUMNS = ("server", "position", "queue", "interface", "name", "reason", "since", "until", "whole")
RNA_COLUMNS = ("server", "position", "at", "call_id", "queue", "member", "interface", "ring_s")
IVR_COLUMNS = ("server", "position", "at", "call_id", "linked_id", "queue", "caller_num", "choice")
UNSEEN_COLUMNS = ("server", "position", "at", "queue", "since", "calls")
TICKET_COLUMNS = (
    "server", "call_id", "caller_num", "caller_name", "queue", "agent", "interface", "category",
    "impact", "urgency", "priority", "level", "status", "solved_on_call", "summary", "created_at",
    "updated_at", "due_at",
)  # fmt: skip

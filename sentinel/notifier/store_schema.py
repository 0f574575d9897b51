"""The notifier's database schema: one migration each time it grew (never edited once released)."""

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE incidents (
        alert_id TEXT PRIMARY KEY,
        home TEXT NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        reason TEXT NOT NULL,
        raised_at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        next_index INTEGER NOT NULL DEFAULT 0,
        next_at TEXT NOT NULL,
        claimed_by TEXT,
        claimed_at TEXT,
        closed_at TEXT,
        closed_by TEXT,
        close_note TEXT
    );
    CREATE TABLE steps (
        id INTEGER PRIMARY KEY,
        alert_id TEXT NOT NULL,
        at TEXT NOT NULL,
        what TEXT NOT NULL,
        member TEXT,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX steps_alert ON steps (alert_id);
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        alert_id TEXT,
        home TEXT NOT NULL,
        member TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try TEXT NOT NULL,
        last_error TEXT
    );
    CREATE INDEX deliveries_due ON deliveries (status, next_try);
    CREATE TABLE used_tokens (token TEXT PRIMARY KEY, at TEXT NOT NULL);
    CREATE TABLE homes (home TEXT PRIMARY KEY, state TEXT NOT NULL, since TEXT NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # Messages that could not be read, kept once each (a redelivery only counts), never retried;
    # and ntfy's id for each notification it took, so a restart can ask ntfy what it already has.
    """
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        topic TEXT NOT NULL,
        home TEXT,
        size INTEGER NOT NULL,
        payload TEXT NOT NULL,
        error TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        count INTEGER NOT NULL DEFAULT 1
    );
    ALTER TABLE deliveries ADD COLUMN ntfy_id TEXT;
    """,
    # The circle's rhythm: who agreed to be counted on (per home), each drill's answer, and a log of every
    # member's notices and presses outside incidents. A database that has already sent notifications
    # was in use before members were asked: its members are taken as having agreed (consent_from_before).
    """
    CREATE TABLE consent (
        home TEXT NOT NULL,
        member TEXT NOT NULL,
        asked_at TEXT,
        reminded_at TEXT,
        agreed_at TEXT,
        how TEXT NOT NULL DEFAULT '',
        keepers_told_at TEXT,
        PRIMARY KEY (home, member)
    );
    CREATE TABLE drills (
        drill_id TEXT NOT NULL,
        member TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        due_at TEXT NOT NULL,
        answered_at TEXT,
        missed_at TEXT,
        PRIMARY KEY (drill_id, member)
    );
    CREATE TABLE member_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        home TEXT NOT NULL DEFAULT '',
        member TEXT NOT NULL,
        what TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX member_log_member ON member_log (member, what);
    ALTER TABLE deliveries ADD COLUMN sent_at TEXT;
    INSERT INTO meta (key, value) SELECT 'consent_from_before', '1' WHERE EXISTS (SELECT 1 FROM deliveries);
    """,
    # Checking in: each time the resident's phone was asked ('Are you all right?', 'I'm OK today') and how
    # it was answered; and the away dates members set from their phones (with the YAML's date they overrode).
    """
    CREATE TABLE resident_checks (
        home TEXT NOT NULL,
        check_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        asked_at TEXT NOT NULL,
        answered_at TEXT,
        outcome TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (home, check_id)
    );
    CREATE TABLE availability (
        member TEXT PRIMARY KEY,
        away_until TEXT,
        yaml_was TEXT,
        set_at TEXT NOT NULL,
        how TEXT NOT NULL DEFAULT ''
    );
    """,
    # Following up: after an incident closes, the one who went is asked how the resident is.
    """
    CREATE TABLE follow_ups (
        alert_id TEXT PRIMARY KEY,
        home TEXT NOT NULL,
        member TEXT NOT NULL,
        due_at TEXT NOT NULL,
        asked_at TEXT,
        answer TEXT,
        answered_at TEXT
    );
    CREATE INDEX follow_ups_due ON follow_ups (asked_at, due_at);
    """,
    # When the one going is expected to have said they are there (None: nobody is going, or they have).
    """
    ALTER TABLE incidents ADD COLUMN arrive_by TEXT;
    """,
)

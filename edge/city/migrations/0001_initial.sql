-- footfall city server, schema version 0001: sites, devices, intervals and their line counts,
-- quarantined messages, and the latest retained status / health / validation of each device.
-- Applied once by `footfall ingest --migrate` (edge/city/migrate.py) inside one transaction.

CREATE TABLE site (
    site_id text PRIMARY KEY
);

CREATE TABLE device (
    device_id  text PRIMARY KEY,
    site_id    text,
    -- Earliest / latest interval end or health time heard from the device (never ingest time:
    -- retained messages re-arrive whenever an ingester restarts).
    first_seen timestamptz,
    last_seen  timestamptz
);

-- One row per (device, seq): the exactly-once key (no foreign key to device, so exports and
-- their tests can load intervals on their own). A re-sent interval is ignored (first one wins).
CREATE TABLE interval (
    device_id   text NOT NULL,
    seq         bigint NOT NULL CHECK (seq >= 1),
    site_id     text NOT NULL,
    start_at    timestamptz NOT NULL,
    end_at      timestamptz NOT NULL,
    coverage    double precision NOT NULL CHECK (coverage >= 0 AND coverage <= 1),
    observed_s  double precision,
    backfill    boolean NOT NULL,
    payload     jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, seq),
    CHECK (end_at > start_at)
);
CREATE INDEX interval_start_at ON interval (start_at);
CREATE INDEX interval_site_start_at ON interval (site_id, start_at);

CREATE TABLE line_count (
    device_id text NOT NULL,
    seq       bigint NOT NULL,
    line_id   text NOT NULL,
    direction text NOT NULL CHECK (direction IN ('in', 'out')),
    -- NULL: suppressed on the device (small-count suppression), never "unknown".
    count     integer CHECK (count >= 0),
    PRIMARY KEY (device_id, seq, line_id, direction),
    FOREIGN KEY (device_id, seq) REFERENCES interval (device_id, seq) ON DELETE CASCADE
);

-- Every message that could not be stored, with the reason: nothing is dropped silently.
CREATE TABLE quarantine (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic       text NOT NULL,
    reason      text NOT NULL,
    -- The message body, cut to the first bytes when it was over the size limit (see reason).
    payload     bytea NOT NULL
);
CREATE INDEX quarantine_received_at ON quarantine (received_at);

-- Retained `.../status`: online, offline (last will) or stopped.
CREATE TABLE device_availability (
    device_id  text PRIMARY KEY REFERENCES device (device_id),
    status     text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Retained `.../health` (footfall-edge/health/v1); only a newer `time` replaces the stored one.
CREATE TABLE device_health (
    device_id           text PRIMARY KEY REFERENCES device (device_id),
    reported_at         timestamptz NOT NULL,
    outbox_backlog_rows integer,
    last_seq            bigint,
    payload             jsonb NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now()
);

-- Retained `.../validations` (footfall-edge/validation/v1); only a later check replaces the stored one.
CREATE TABLE device_validation (
    device_id     text PRIMARY KEY REFERENCES device (device_id),
    validation_id text NOT NULL,
    ended_at      timestamptz NOT NULL,
    verdict       text NOT NULL,
    accuracy      double precision,
    payload       jsonb NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);

-- Missing sequence ranges per device: holes between stored seqs, and before the first one
-- (a device numbers its intervals from 1). Intervals still in a device's outbox are not gaps:
-- see device_health.outbox_backlog_rows.
CREATE VIEW interval_gap AS
WITH ordered AS (
    SELECT device_id, seq, lag(seq, 1, 0::bigint) OVER (PARTITION BY device_id ORDER BY seq) AS previous_seq
    FROM interval
)
SELECT device_id, previous_seq + 1 AS first_missing, seq - 1 AS last_missing, seq - previous_seq - 1 AS missing
FROM ordered
WHERE seq > previous_seq + 1;

-- The event store: the source of truth.
--
-- Commit order: a bigint identity is handed out at insert, not at commit, so a
-- transaction that commits late can leave a "hole" that a reader has already
-- passed. Readers therefore order by (tx_id, global_position) and read only
-- transactions below the snapshot's xmin (every one of those has finished), so
-- nothing is ever skipped. An append must be its transaction's first write, so
-- that tx_id order agrees with per-stream version order.
CREATE TABLE events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    stream_id       text        NOT NULL,
    version         integer     NOT NULL CHECK (version >= 1),
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    correlation_id  uuid        NOT NULL,
    causation_id    uuid,
    actor           jsonb       NOT NULL,
    department      text,
    data            jsonb       NOT NULL,
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    UNIQUE (stream_id, version)
);

CREATE INDEX events_commit_order ON events (tx_id, global_position);

-- What each consumer has already handled: written in the same transaction as
-- the handler's appends, so a redelivered event has no second effect.
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Positions of readers of read_all (the relay, projections).
CREATE TABLE checkpoints (
    name       text        PRIMARY KEY,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

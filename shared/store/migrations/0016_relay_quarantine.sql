-- Events the relay could not publish (shared/relay/quarantine.py).
--
-- An event that can never become a JetStream message (an event type that is
-- not a subject token, a payload larger than the server takes, a refusal that
-- is about the message itself) is set aside here with its reason, and the
-- relay carries on with the events after it. Every row counts as handled in
-- commit order: the relay never publishes a quarantined event in order again.
-- An operator releases a row (`tousu relay quarantine release`); the relay
-- then publishes it once more, at the stream's end, marked as released.
CREATE TABLE relay_quarantine (
    event_id        uuid        PRIMARY KEY,
    global_position bigint      NOT NULL UNIQUE,
    stream_id       text        NOT NULL,
    version         integer     NOT NULL,
    type            text        NOT NULL,
    department      text,
    -- A short code (invalid_subject, too_large, rejected) and the details.
    reason          text        NOT NULL,
    detail          text        NOT NULL,
    -- held: set aside; released: the operator asked for another try;
    -- published: the released event is in the stream now.
    status          text        NOT NULL DEFAULT 'held'
                    CHECK (status IN ('held', 'released', 'published')),
    attempts        integer     NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    quarantined_at  timestamptz NOT NULL DEFAULT now(),
    released_at     timestamptz,
    released_by     text,
    published_at    timestamptz
);

-- The relay looks for released rows on every round; there are next to none.
CREATE INDEX relay_quarantine_open ON relay_quarantine (status, global_position)
    WHERE status <> 'published';

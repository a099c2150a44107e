-- Department webhooks (services/followup/webhooks, docs/webhooks.md), owned by
-- the followup service: which URL each department's system listens on, and
-- every event delivered to it, with each attempt.

-- One endpoint per department. The secret signs every request (HMAC-SHA256);
-- tousu needs it back in plain to sign, so it cannot be hashed: it is sealed
-- (AES-GCM) with a key derived from the key-encryption key of personal data
-- (TOUSU_PRIVACY_KEY or <data_dir>/privacy-key), so a copy of the database
-- alone cannot forge a department's webhooks. `tousu webhooks remove` only
-- deactivates: the delivery log keeps naming the endpoint it went to.
CREATE TABLE department_webhooks (
    department    text        PRIMARY KEY,
    -- A fresh id on each (re)configuration: the sealed secret's associated
    -- data, so a box copied onto another row does not open.
    id            uuid        NOT NULL UNIQUE,
    url           text        NOT NULL CHECK (url ~ '^https?://'),
    sealed_secret text        NOT NULL,
    active        boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per (department, event) a department's system is told about,
-- written in the transaction that records the consumer's tracking row, so a
-- redelivered event adds nothing. A replay (`tousu webhooks replay`) adds new
-- rows, marked, with new ids: the receiver is meant to take them again.
CREATE TABLE webhook_deliveries (
    id               uuid        PRIMARY KEY,
    department       text        NOT NULL,
    event_id         uuid        NOT NULL,
    event_type       text        NOT NULL,
    -- The event's global position: a department's deliveries go out in this order.
    position         bigint      NOT NULL,
    complaint_id     uuid        NOT NULL,
    tracking_no      text,
    -- The JSON body exactly as sent (and signed) on every try.
    body             text        NOT NULL,
    replay           boolean     NOT NULL DEFAULT false,
    -- pending: never tried; sending: claimed under a lease; retrying: the
    -- last try failed and another is scheduled; delivered (2xx); failed:
    -- given up after TOUSU_WEBHOOKS_GIVE_UP_HOURS of tries.
    status           text        NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sending', 'retrying', 'delivered', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When the row is due: the next try, or for a claimed row its lease's end.
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    first_attempt_at timestamptz,
    claim_token      uuid,
    claimed_by       text,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    -- The writing transaction: dispatchers take only rows of transactions
    -- every snapshot sees as finished, as the event store's readers do, so
    -- a row committed late is not passed over by a later one.
    tx_id            xid8        NOT NULL DEFAULT pg_current_xact_id()
);

CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (department, event_id)
    WHERE NOT replay;
CREATE INDEX webhook_deliveries_open ON webhook_deliveries (department, position)
    WHERE status IN ('pending', 'sending', 'retrying');
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (department, position);

-- Every try: what the receiver answered, or why there was no answer.
CREATE TABLE webhook_attempts (
    delivery_id  uuid             NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      integer          NOT NULL CHECK (attempt >= 1),
    started_at   timestamptz      NOT NULL,
    duration_ms  double precision NOT NULL,
    status_code  integer,
    error        text,
    PRIMARY KEY (delivery_id, attempt)
);

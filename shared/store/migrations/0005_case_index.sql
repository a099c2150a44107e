-- case_index: one row per complaint, for the staff case list
-- (GET /api/v1/complaints). A projection, not the truth: the consumer
-- "case-index" (services/gateway/complaints/index.py) rebuilds each row from
-- the complaint's stream, so a row can always be dropped and rebuilt.
--
-- ``version`` is the stream version the row was built from; an upsert only
-- ever moves it forward, so replicas handling a stream's events out of order
-- never put an older picture back.
CREATE TABLE case_index (
    complaint_id      uuid        PRIMARY KEY,
    tracking_no       text,
    status            text        NOT NULL,
    department        text,
    handler           text,
    channel           text,
    category          text,
    subject           text,
    received_at       timestamptz,
    acceptance_due_at timestamptz,
    feedback_due_at   timestamptz,
    updated_at        timestamptz NOT NULL,
    version           integer     NOT NULL CHECK (version >= 1)
);

CREATE INDEX case_index_received ON case_index (received_at DESC, complaint_id);
CREATE INDEX case_index_department ON case_index (department, received_at DESC);
CREATE INDEX case_index_status ON case_index (status, received_at DESC);
CREATE INDEX case_index_tracking_no ON case_index (tracking_no);

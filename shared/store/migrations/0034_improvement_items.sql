-- Improvement items (整改跟踪, docs/quality-improvements.md), owned by the
-- metrics service (services/metrics/improvements/table.py): one row per
-- improvement a result feedback promised, written in the transaction that
-- appends the item's ImprovementItemOpened or ImprovementItemClosed, so the
-- row and its stream never disagree. The streams (improvement-<id>) are the
-- record; the row is what lists and the appraisal read.
CREATE TABLE improvement_items (
    item_id            uuid        PRIMARY KEY,
    complaint_id       uuid        NOT NULL,
    tracking_no        text,
    round              integer     NOT NULL CHECK (round >= 1),
    idx                integer     NOT NULL CHECK (idx >= 1),
    department         text        NOT NULL,
    owner              text,
    text               text        NOT NULL,
    -- When the feedback promising it was sent, and when it is due.
    opened_at          timestamptz NOT NULL,
    due_at             timestamptz NOT NULL,
    working_days       integer     NOT NULL CHECK (working_days >= 1),
    status             text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_at          timestamptz,
    evidence           text,
    closed_by          text,
    -- When the store recorded the opening and the closing: a figure "as of
    -- T" counts only what was on record by T (docs/design.md, "Metrics").
    opened_recorded_at timestamptz NOT NULL,
    closed_recorded_at timestamptz,
    UNIQUE (complaint_id, round, idx),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

CREATE INDEX improvement_items_department ON improvement_items (department, status, due_at);
CREATE INDEX improvement_items_due ON improvement_items (due_at);
CREATE INDEX improvement_items_complaint ON improvement_items (complaint_id);

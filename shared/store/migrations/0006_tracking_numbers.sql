-- Tracking numbers are drawn at random; this keeps them unique and lets the
-- public look a complaint up by the number they were given.
CREATE TABLE tracking_numbers (
    tracking_no  text PRIMARY KEY,
    complaint_id uuid NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Duplicate suggestions look for earlier complaints with the same contact.
CREATE INDEX events_received_phone ON events ((data -> 'complainant' ->> 'phone'), occurred_at)
    WHERE type = 'ComplaintReceived';
CREATE INDEX events_received_email ON events ((lower(data -> 'complainant' ->> 'email')), occurred_at)
    WHERE type = 'ComplaintReceived';

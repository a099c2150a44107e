-- The outbox of notices to complainants (shared/notify).
--
-- A row is written in the same transaction as the handling of the event that
-- causes it, so the notice exists if and only if the event was handled. Its id
-- is derived from (source event, kind, channel): enqueuing again is a no-op.
-- Dispatchers claim due rows with FOR UPDATE SKIP LOCKED and a lease, so
-- several replicas never send one notice at the same time.
CREATE TABLE notifications (
    id                  uuid        PRIMARY KEY,
    source_event_id     uuid        NOT NULL,
    complaint_id        uuid        NOT NULL,
    tracking_no         text        NOT NULL,
    -- Not constrained here: new kinds of notice (the Python enum) should not
    -- need a migration.
    kind                text        NOT NULL,
    channel             text        NOT NULL CHECK (channel IN ('email', 'sms', 'letter', 'web')),
    -- E-mail address, phone number or postal address; none for the web page.
    recipient           text,
    recipient_name      text,
    language            text        NOT NULL DEFAULT 'zh-CN',
    title               text        NOT NULL,
    body                text        NOT NULL,
    -- pending: never tried; sending: claimed under a lease; failed: the last
    -- try failed and another is scheduled; sent; dead: given up.
    status              text        NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dead')),
    attempts            integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When the row is due: the next try, or for a claimed row the end of its
    -- lease (a dispatcher that died while sending is then taken over).
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    locked_until        timestamptz,
    -- Who holds the lease: a dispatcher that lost it must not record an outcome.
    claim_token         uuid,
    claimed_by          text,
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    provider_message_id text,
    CHECK (channel = 'web' OR recipient IS NOT NULL)
);

CREATE INDEX notifications_due ON notifications (next_attempt_at)
    WHERE status IN ('pending', 'sending', 'failed');
CREATE INDEX notifications_complaint ON notifications (complaint_id, created_at);
CREATE INDEX notifications_tracking_no ON notifications (tracking_no, created_at);
CREATE INDEX notifications_status ON notifications (status, created_at);

-- Tamper evidence (shared/store/chain.py): a hash chain over the events in
-- commit order. Seal number n holds sha256(hash of seal n-1 || n || digest of
-- the event as stored), so editing, deleting or reordering a stored event
-- breaks the chain from that event on, and `tousu audit verify` names it.
--
-- A table of its own rather than columns on events: sealing inserts one small
-- row an event instead of rewriting every event row (and its four index
-- entries) once more. The seal keeps the event's id and position, so a seal
-- whose event row is gone or holds another event says which one it was.
-- Existing events are sealed by `tousu migrate` right after this migration.
CREATE TABLE event_seals (
    seq             bigint PRIMARY KEY CHECK (seq >= 1),
    global_position bigint NOT NULL UNIQUE,
    tx_id           xid8   NOT NULL,
    event_id        uuid   NOT NULL,
    hash            bytea  NOT NULL CHECK (length(hash) = 32),
    sealed_at       timestamptz NOT NULL DEFAULT now()
);

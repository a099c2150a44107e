-- Contacts in the outbox sealed like the events (shared/notify/outbox.py).
--
-- A notice's recipient (e-mail address, phone number or postal address) and
-- the name it is addressed to are kept in ``sealed_contact``, an AES-GCM box
-- made with the data key of ``complainant_id`` (complainant_keys), and the
-- plain columns stay NULL. Erasing the complainant destroys that key, so a
-- copy of this table, sent or pending, names no one. Rows written before this
-- migration keep plain contacts until `tousu privacy upgrade` (run by
-- `tousu migrate` and `tousu up` too) seals them.
ALTER TABLE notifications
    ADD COLUMN complainant_id uuid,
    ADD COLUMN sealed_contact text;

ALTER TABLE notifications DROP CONSTRAINT notifications_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_recipient
    CHECK (channel = 'web' OR recipient IS NOT NULL OR sealed_contact IS NOT NULL);
ALTER TABLE notifications ADD CONSTRAINT notifications_sealed_owner
    CHECK (sealed_contact IS NULL OR complainant_id IS NOT NULL);


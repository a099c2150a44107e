-- Contact details are sealed in stored events since 0011 (duplicate
-- suggestions find a person by complainant key, events_complainant_key), so
-- these two indexes only ever hold NULLs; every new complaint still paid for
-- writing them.
DROP INDEX IF EXISTS events_received_phone;
DROP INDEX IF EXISTS events_received_email;

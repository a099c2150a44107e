-- WeChat notices in the outbox (services/followup/notices/wechat.py): a
-- template message to the complainant's OpenID, which is kept sealed in
-- sealed_contact like a phone number or an e-mail address.
ALTER TABLE notifications DROP CONSTRAINT notifications_channel_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_channel_check
    CHECK (channel IN ('email', 'sms', 'letter', 'wechat', 'web'));

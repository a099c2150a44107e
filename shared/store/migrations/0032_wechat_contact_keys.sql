-- A WeChat complainant who gave neither a phone number nor an e-mail address
-- is known by their OpenID at the official account: its keyed digest finds
-- their data key again (their later complaints, the photos uploaded before
-- the complaint), so one erasure reaches all of it. Cleared on erasure.
ALTER TABLE complainant_keys ADD COLUMN wechat_digest bytea;
CREATE UNIQUE INDEX complainant_keys_wechat ON complainant_keys (wechat_digest)
    WHERE erased_at IS NULL;

-- API keys sold by use: a key's own metadata, rate limits and credits, and the permission of
-- an application to verify its account's keys.
--
-- meta: a JSON object (compact text, at most 2 KiB), handed to whoever verifies the key.
-- rate_per_*: the key's own limits per wall-clock second, minute and hour (NULL: none).
-- credits_remaining: credits not yet leased by a server (NULL: unlimited). Servers take
-- leases of credits from it and give back what they did not spend.
-- credits_refill_amount / credits_refill_interval ('daily' | 'monthly'): the balance is
-- replaced by the amount at 00:00 UTC each day or on the first of each month.
-- credits_refilled_at: when it last was (milliseconds).
-- credits_generation: bumped whenever the balance is set rather than spent (a refill, an
-- administrator's change), so that credits leased before are not given back into it.

ALTER TABLE api_keys ADD COLUMN meta TEXT;
ALTER TABLE api_keys ADD COLUMN rate_per_second BIGINT;
ALTER TABLE api_keys ADD COLUMN rate_per_minute BIGINT;
ALTER TABLE api_keys ADD COLUMN rate_per_hour BIGINT;
ALTER TABLE api_keys ADD COLUMN credits_remaining BIGINT;
ALTER TABLE api_keys ADD COLUMN credits_refill_amount BIGINT;
ALTER TABLE api_keys ADD COLUMN credits_refill_interval TEXT;
ALTER TABLE api_keys ADD COLUMN credits_refilled_at BIGINT;
ALTER TABLE api_keys ADD COLUMN credits_generation BIGINT NOT NULL DEFAULT 0;

ALTER TABLE applications ADD COLUMN verify_keys BIGINT NOT NULL DEFAULT 0;

-- What the expiry sweep looks for across all teams: finalized packages by expiry, and packages
-- still new by their last change (abandoned uploads).
CREATE INDEX packages_due ON packages (expiry) WHERE state = 'finalized' AND expiry IS NOT NULL;
CREATE INDEX packages_stale ON packages (updated_at) WHERE state = 'new';

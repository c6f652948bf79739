-- How many packages each team created on each day (UTC), per state, kept by triggers: the
-- total of a list filtered by creation time is a sum over the whole days in the range plus a
-- count of the rows in the two partial days at its ends, whatever the number of packages.
CREATE TABLE package_days (
    team_id TEXT NOT NULL,
    inbox   INTEGER NOT NULL,
    day     INTEGER NOT NULL, -- created_at / 86400000
    state   TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (team_id, inbox, day, state)
) WITHOUT ROWID;

INSERT INTO package_days (team_id, inbox, day, state, n)
    SELECT team_id, inbox, created_at / 86400000, state, count(*) FROM packages
    GROUP BY team_id, inbox, created_at / 86400000, state;

CREATE TRIGGER packages_days_insert AFTER INSERT ON packages BEGIN
    INSERT INTO package_days (team_id, inbox, day, state, n)
        VALUES (NEW.team_id, NEW.inbox, NEW.created_at / 86400000, NEW.state, 1)
        ON CONFLICT (team_id, inbox, day, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER packages_days_delete AFTER DELETE ON packages BEGIN
    UPDATE package_days SET n = n - 1
        WHERE team_id = OLD.team_id AND inbox = OLD.inbox AND day = OLD.created_at / 86400000
          AND state = OLD.state;
END;

CREATE TRIGGER packages_days_update AFTER UPDATE OF state, created_at ON packages BEGIN
    UPDATE package_days SET n = n - 1
        WHERE team_id = OLD.team_id AND inbox = OLD.inbox AND day = OLD.created_at / 86400000
          AND state = OLD.state;
    INSERT INTO package_days (team_id, inbox, day, state, n)
        VALUES (NEW.team_id, NEW.inbox, NEW.created_at / 86400000, NEW.state, 1)
        ON CONFLICT (team_id, inbox, day, state) DO UPDATE SET n = n + 1;
END;

-- Fills a consign database with :n packages for team :team (user :user), spread over states,
-- senders, names, tags, teamspaces, sizes and dates. Run by bench/list.sh through the sqlite3
-- shell, with the parameters set by .param.
INSERT INTO tags (id, team_id, name, created_at, updated_at)
    SELECT printf('0TAG%022d', value), :team, 'tag ' || value, 0, 0 FROM generate_series(1, 20);
INSERT INTO teamspaces (id, team_id, name, created_at, updated_at)
    SELECT printf('0SPC%022d', value), :team, 'space ' || value, 0, 0 FROM generate_series(1, 8);
INSERT INTO packages (id, team_id, inbox, teamspace_id, sender_user_id, sender, name,
                      description, recipients, state, size, total_files, usage_total_bytes,
                      expiry, created_at, updated_at, tag_id)
SELECT printf('0PKG%022d', value), :team, 0,
       -- Moduli that share no factor with the state's, so no sender, tag or teamspace has
       -- only packages of one state.
       CASE WHEN value % 3 = 0 THEN printf('0SPC%022d', value % 7 + 1) END,
       :user, printf('sender%02d@example.org', value % 41),
       -- Names from three of 64 words, a number and a six-character job code (as a
       -- production's names carry one), so that some searches match many packages and a
       -- search for a code matches one.
       printf('%s %s %s %d %s', rtrim(substr(:words, (value % 61) * 9 + 1, 9)),
              rtrim(substr(:words, (value / 61 % 59) * 9 + 1, 9)),
              rtrim(substr(:words, (value / 3599 % 53) * 9 + 1, 9)), value % 1000,
              substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', (value * 2654435761 % 2176782336) / 60466176 % 36 + 1, 1) ||
              substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', (value * 2654435761 % 2176782336) / 1679616 % 36 + 1, 1) ||
              substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', (value * 2654435761 % 2176782336) / 46656 % 36 + 1, 1) ||
              substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', (value * 2654435761 % 2176782336) / 1296 % 36 + 1, 1) ||
              substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', (value * 2654435761 % 2176782336) / 36 % 36 + 1, 1) ||
              substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', (value * 2654435761 % 2176782336) / 1 % 36 + 1, 1)),
       'bench', '["r@example.org"]',
       CASE value % 10 WHEN 0 THEN 'new' WHEN 1 THEN 'archived' WHEN 2 THEN 'expired'
                       WHEN 3 THEN 'expired' ELSE 'finalized' END,
       (value * 7919) % 100000000000, 1 + value % 20, (value * 104729) % 1000000000,
       1700000000000 + (value % 50000) * 86400000,
       1600000000000 + value * (63072000000 / :n), 1600000000000 + value * (63072000000 / :n),
       CASE WHEN value % 3 <> 1 THEN printf('0TAG%022d', value % 19 + 1) END
FROM generate_series(1, :n);
ANALYZE;

-- A number that moves whenever tokens, members, their account grants or the set of accounts
-- change, kept by triggers: a server holding credentials in memory compares it to notice
-- changes made by another process on the same database (see src/credentials.rs).
CREATE TABLE credentials_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO credentials_version (id, version) VALUES (1, 0);

CREATE TRIGGER tokens_insert_moves_version AFTER INSERT ON tokens BEGIN
    UPDATE credentials_version SET version = version + 1;
END;
CREATE TRIGGER tokens_update_moves_version AFTER UPDATE ON tokens BEGIN
    UPDATE credentials_version SET version = version + 1;
END;
CREATE TRIGGER tokens_delete_moves_version AFTER DELETE ON tokens BEGIN
    UPDATE credentials_version SET version = version + 1;
END;
CREATE TRIGGER members_insert_moves_version AFTER INSERT ON members BEGIN
    UPDATE credentials_version SET version = version + 1;
END;
CREATE TRIGGER members_update_moves_version AFTER UPDATE ON members BEGIN
    UPDATE credentials_version SET version = version + 1;
END;
CREATE TRIGGER members_delete_moves_version AFTER DELETE ON members BEGIN
    UPDATE credentials_version SET version = version + 1;
END;
CREATE TRIGGER member_accounts_insert_moves_version AFTER INSERT ON member_accounts BEGIN
    UPDATE credentials_version SET version = version + 1;
END;
CREATE TRIGGER member_accounts_delete_moves_version AFTER DELETE ON member_accounts BEGIN
    UPDATE credentials_version SET version = version + 1;
END;
CREATE TRIGGER accounts_insert_moves_version AFTER INSERT ON accounts BEGIN
    UPDATE credentials_version SET version = version + 1;
END;

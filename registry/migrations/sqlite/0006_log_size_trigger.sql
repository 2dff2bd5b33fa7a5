-- Each leaf inserted counts itself into the log's size, in the statement that
-- inserts it: an append is then a single INSERT that SQLite commits on its own
-- (see append_sqlite in src/log.rs), and the size cannot drift from the
-- leaves whoever inserts them.
CREATE TRIGGER log_leaves_count AFTER INSERT ON log_leaves
BEGIN
    UPDATE log_meta SET size = size + 1 WHERE id = 1;
END;

"""On PostgreSQL the database enforces the ledger's invariants as well as the application:

- journal entries and lines can never be updated or deleted (GoBD);
- after each INSERT of lines, every entry it touched has at least two lines, sums to zero, and
  books only on accounts of the entry's organisation (so an entry's lines go in one statement);
- at commit, no entry is left without lines (a deferred constraint trigger).
"""

from django.db import migrations

from rathauskasse.core.postgres import FORBID_CHANGE_FUNCTION, append_only_sql, run_on_postgres

BALANCE_SQL = """
-- After every INSERT statement on lines: each entry it touched has at least two lines, sums to
-- zero and books only on accounts of its own organisation. The lines of an entry are therefore
-- written in one statement, as the application does.
CREATE OR REPLACE FUNCTION ledger_lines_inserted() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    FOR bad IN
        SELECT e.id, SUM(l.amount_cents) AS total, COUNT(*) AS n,
               COUNT(*) FILTER (WHERE a.organisation_id <> e.organisation_id) AS foreign_lines
          FROM (SELECT DISTINCT entry_id FROM new_lines) touched
          JOIN ledger_journalentry e ON e.id = touched.entry_id
          JOIN ledger_journalline l ON l.entry_id = e.id
          JOIN ledger_account a ON a.id = l.account_id
         GROUP BY e.id
        HAVING SUM(l.amount_cents) <> 0 OR COUNT(*) < 2
            OR COUNT(*) FILTER (WHERE a.organisation_id <> e.organisation_id) > 0
    LOOP
        IF bad.foreign_lines > 0 THEN
            RAISE EXCEPTION 'journal entry % books on accounts of another organisation', bad.id
                USING ERRCODE = 'check_violation';
        ELSIF bad.n < 2 THEN
            RAISE EXCEPTION 'journal entry % has % line(s); at least two are needed', bad.id, bad.n
                USING ERRCODE = 'check_violation';
        ELSE
            RAISE EXCEPTION 'journal entry % is unbalanced by % cents', bad.id, bad.total
                USING ERRCODE = 'check_violation';
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- At commit: no entry is left without lines.
CREATE OR REPLACE FUNCTION ledger_entry_inserted() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger_journalline WHERE entry_id = NEW.id) THEN
        RAISE EXCEPTION 'journal entry % has 0 line(s); at least two are needed', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS ledger_journalline_balanced ON ledger_journalline;
CREATE TRIGGER ledger_journalline_balanced AFTER INSERT ON ledger_journalline
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_lines_inserted();

DROP TRIGGER IF EXISTS ledger_journalentry_has_lines ON ledger_journalentry;
CREATE CONSTRAINT TRIGGER ledger_journalentry_has_lines AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_inserted();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS ledger_journalentry_has_lines ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_journalline_balanced ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_journalentry_append_only ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_journalline_append_only ON ledger_journalline;
DROP FUNCTION IF EXISTS ledger_entry_inserted();
DROP FUNCTION IF EXISTS ledger_lines_inserted();
"""

forward, backward = run_on_postgres(
    FORBID_CHANGE_FUNCTION
    + append_only_sql("ledger_journalentry")
    + append_only_sql("ledger_journalline")
    + BALANCE_SQL,
    REVERSE_SQL,
)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]

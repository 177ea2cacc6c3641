"""On PostgreSQL the database enforces the ledger's invariants as well as the application:

- journal entries and lines can never be updated or deleted (GoBD);
- at commit, every entry that got lines has at least two, they sum to zero, and they all book on
  accounts of the entry's organisation (a deferred constraint trigger, so an entry and its lines
  are written in any order within one transaction);
- an entry without any line is refused at commit as well.
"""

from django.db import migrations

from rathauskasse.core.postgres import FORBID_CHANGE_FUNCTION, append_only_sql, run_on_postgres

BALANCE_SQL = """
CREATE OR REPLACE FUNCTION ledger_check_entry(entry bigint) RETURNS void AS $$
DECLARE
    total bigint;
    n integer;
    foreign_lines integer;
BEGIN
    SELECT COALESCE(SUM(l.amount_cents), 0), COUNT(l.id),
           COUNT(*) FILTER (WHERE a.organisation_id <> e.organisation_id)
      INTO total, n, foreign_lines
      FROM ledger_journalentry e
      LEFT JOIN ledger_journalline l ON l.entry_id = e.id
      LEFT JOIN ledger_account a ON a.id = l.account_id
     WHERE e.id = entry;
    IF n < 2 THEN
        RAISE EXCEPTION 'journal entry % has % line(s); at least two are needed', entry, n
            USING ERRCODE = 'check_violation';
    END IF;
    IF total <> 0 THEN
        RAISE EXCEPTION 'journal entry % is unbalanced by % cents', entry, total
            USING ERRCODE = 'check_violation';
    END IF;
    IF foreign_lines > 0 THEN
        RAISE EXCEPTION 'journal entry % books on accounts of another organisation', entry
            USING ERRCODE = 'check_violation';
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_line_inserted() RETURNS trigger AS $$
BEGIN
    PERFORM ledger_check_entry(NEW.entry_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_entry_inserted() RETURNS trigger AS $$
BEGIN
    PERFORM ledger_check_entry(NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS ledger_journalline_balanced ON ledger_journalline;
CREATE CONSTRAINT TRIGGER ledger_journalline_balanced AFTER INSERT ON ledger_journalline
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_line_inserted();

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
DROP FUNCTION IF EXISTS ledger_line_inserted();
DROP FUNCTION IF EXISTS ledger_check_entry(bigint);
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

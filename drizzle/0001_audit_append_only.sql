-- The audit log is append-only below the application too: ordinary SQL cannot change an event,
-- nor remove one while its organization exists. (Deleting an organization removes its events
-- with it, by the foreign key's cascade; someone holding the file can drop these triggers, and
-- the hash chain is what detects that.)
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only: an event cannot be changed');
END;
--> statement-breakpoint
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN EXISTS (SELECT 1 FROM organizations WHERE id = OLD.organization_id)
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only: an event cannot be deleted');
END;

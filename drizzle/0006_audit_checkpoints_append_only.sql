-- Checkpoints are kept as they were signed: ordinary SQL cannot change one, nor remove one while
-- its organization exists (deleting the organization removes them with its events, by the
-- foreign key's cascade). Someone holding the file can drop these triggers; the offline
-- verifier then still refuses an export whose checkpoints were removed or re-signed.
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'audit checkpoints are append-only: a checkpoint cannot be changed');
END;
--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
WHEN EXISTS (SELECT 1 FROM organizations WHERE id = OLD.organization_id)
BEGIN
  SELECT RAISE(ABORT, 'audit checkpoints are append-only: a checkpoint cannot be deleted');
END;

-- Retention removes the oldest events of a chain, and only those: an event may be deleted once its
-- organization's anchor (audit_retention_anchors, written first) names a later first kept event.
-- The anchor must carry that event's previousHash, only moves forward and stays while its
-- organization exists, so that ordinary SQL can neither cut a hole in a chain nor remove its
-- start unseen (verification reports where the chain starts). Deleting an organization still
-- removes its events and anchor with it.
DROP TRIGGER audit_events_no_delete;
--> statement-breakpoint
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN EXISTS (SELECT 1 FROM organizations WHERE id = OLD.organization_id)
  AND NOT EXISTS (SELECT 1 FROM audit_retention_anchors a WHERE a.organization_id = OLD.organization_id AND OLD.sequence < a.first_kept_sequence)
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only: an event cannot be deleted');
END;
--> statement-breakpoint
CREATE TRIGGER audit_anchors_checked_insert BEFORE INSERT ON audit_retention_anchors
WHEN NEW.anchor_hash IS NOT (SELECT previous_hash FROM audit_events WHERE organization_id = NEW.organization_id AND sequence = NEW.first_kept_sequence)
BEGIN
  SELECT RAISE(ABORT, 'a retention anchor must carry the previousHash of the first kept event');
END;
--> statement-breakpoint
CREATE TRIGGER audit_anchors_checked_update BEFORE UPDATE ON audit_retention_anchors
WHEN NEW.organization_id IS NOT OLD.organization_id
  OR NEW.first_kept_sequence <= OLD.first_kept_sequence
  OR NEW.removed_events < OLD.removed_events
  OR NEW.anchor_hash IS NOT (SELECT previous_hash FROM audit_events WHERE organization_id = NEW.organization_id AND sequence = NEW.first_kept_sequence)
BEGIN
  SELECT RAISE(ABORT, 'a retention anchor only moves forward, to the previousHash of a kept event');
END;
--> statement-breakpoint
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_retention_anchors
WHEN EXISTS (SELECT 1 FROM organizations WHERE id = OLD.organization_id)
BEGIN
  SELECT RAISE(ABORT, 'a retention anchor cannot be deleted while its organization exists');
END;

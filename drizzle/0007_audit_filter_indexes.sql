DROP INDEX `audit_org_workspace`;--> statement-breakpoint
CREATE INDEX `audit_org_actor` ON `audit_events` (`organization_id`,`actor_id`,`sequence`);--> statement-breakpoint
CREATE INDEX `audit_org_action` ON `audit_events` (`organization_id`,`action`,`sequence`);--> statement-breakpoint
CREATE INDEX `audit_org_target` ON `audit_events` (`organization_id`,`target_id`,`sequence`);--> statement-breakpoint
CREATE INDEX `audit_org_outcome` ON `audit_events` (`organization_id`,`outcome`,`sequence`);--> statement-breakpoint
CREATE INDEX `audit_org_workspace` ON `audit_events` (`organization_id`,`workspace_id`,`sequence`);
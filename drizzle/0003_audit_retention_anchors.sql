CREATE TABLE `audit_retention_anchors` (
	`organization_id` text PRIMARY KEY NOT NULL,
	`first_kept_sequence` integer NOT NULL,
	`anchor_hash` text NOT NULL,
	`removed_events` integer NOT NULL,
	`applied_at` integer NOT NULL,
	FOREIGN KEY (`organization_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);

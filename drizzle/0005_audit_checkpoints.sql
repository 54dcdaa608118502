CREATE TABLE `audit_checkpoints` (
	`organization_id` text NOT NULL,
	`sequence` integer NOT NULL,
	`hash` text NOT NULL,
	`signed_at` integer NOT NULL,
	`key_id` text NOT NULL,
	`signature` blob NOT NULL,
	PRIMARY KEY(`organization_id`, `sequence`),
	FOREIGN KEY (`organization_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);

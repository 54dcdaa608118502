CREATE TABLE `usage_texts` (
	`usage_record_id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`prompt_text` text,
	`completion_text` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`usage_record_id`) REFERENCES `usage_records`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`organization_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `usage_texts_org_time` ON `usage_texts` (`organization_id`,`created_at`);
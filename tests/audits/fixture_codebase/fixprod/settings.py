DB_PASSWORD = "old-baselined-password-123"

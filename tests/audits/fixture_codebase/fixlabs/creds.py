api_password = "new-unreviewed-password-456"

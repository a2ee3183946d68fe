"""The central server: device API, list pages, pass issuance, the staff console, the store and backups."""

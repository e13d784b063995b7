"""Backups and restore drills around restic (grows with the backup issue)."""

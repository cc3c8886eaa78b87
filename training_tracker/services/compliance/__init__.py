"""What the law asks of the tracker: the audit log and how its events read, personal data (GDPR),
retention, backup, accessibility reports.
"""

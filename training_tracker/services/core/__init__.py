"""The bottom of the domain: who may see what (scope), the error services raise, the audit trail's
writer, SQL that differs between SQLite and PostgreSQL, working days and e-mail addresses.
Imports nothing from the packages above it.
"""

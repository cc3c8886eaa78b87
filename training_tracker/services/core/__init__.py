"""The bottom of the domain: who may see what (scope), the error services raise, the audit trail's
writer, SQL that differs between SQLite and PostgreSQL, working days, e-mail addresses and a
course's title in the reader's language.
Imports nothing from the packages above it.
"""

"""Importing an HR-system export: parsing the file, planning against the database, applying in one
transaction.
"""

"""Employees and their accounts: enrolment, edits, leavers, units, municipalities and their
settings, roles.
"""

"""Courses and what people owe: the catalogue, requirement rules, assignments, completions with
their certificates, verification, group records, progress and reminders.
"""

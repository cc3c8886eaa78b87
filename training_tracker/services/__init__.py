"""Domain logic as plain functions: a session and arguments in, results out.

Web views, CLI commands and scheduled jobs all call these; none of them reads the request.
"""

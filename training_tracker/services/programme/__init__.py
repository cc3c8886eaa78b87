"""The joint programme: events and their sessions (``events``), what each person may see and
join (``listing``), sign-ups with a waiting list (``signups``), and the times they are held in
(``times``). Above training and people (attendance records completions; managers sign up their
staff), below compliance and reporting.
"""

"""The mail outbox: queueing in the caller's transaction, rendering, delivery exactly once, and the
admin's view of it.
"""

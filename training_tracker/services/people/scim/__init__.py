"""Provisioning over SCIM 2.0 (RFC 7643/7644): a municipality's directory creates, changes and
ends employees through the same services as HR does (assignments from the rules, the welcome
mail, the audit trail, the leaver flow). ``tokens`` are the directories' bearer tokens,
``resources`` the SCIM models the endpoint speaks, ``mapping`` how a SCIM user becomes an
employee, ``queries`` the filters and pages, ``users`` the operations.
"""

"""Importing an HR-system export: reading the file, checking its rows, planning them against
the database, applying the plan in one transaction.

From the bottom: :mod:`.table` reads the bytes (CSV or XLSX) into cells, run for uploads in a
bounded child by :mod:`.reading`; :mod:`.parsing` checks the cells into rows, with the words of
an export in :mod:`.vocabulary`, the checks of single values in :mod:`.values` and the
personnummer rule in :mod:`.personnummer`. :mod:`.plan` is what an import would do;
:mod:`.planning` makes one (matching rows to people in :mod:`.matching`) and :mod:`.applying`
writes it. :mod:`.batches` keeps an upload between preview and confirmation, and
:mod:`.preview` puts a plan into words for the preview page.

Entry points: the command line calls :func:`.parsing.parse_employee_file`,
:func:`.planning.plan_import` and :func:`.applying.apply_import`; the web calls
:mod:`.batches` and :mod:`.preview`.
"""

"""An uploaded HR export is read once, in a bounded child.

Reading (unzipping an XLSX, parsing its XML, decoding a CSV) is the part of an import whose
work a hostile or broken file can blow up; it runs in a child process held to the
IMPORT_READ_* limits (:mod:`..core.bounded_reading`), after a check of the sizes the XLSX's
zip directory declares (:mod:`.table`). The cells it returns are stored with the batch
(:mod:`.batches`), and the preview pages and the confirmation check those, never the file
again.
"""

from __future__ import annotations

from flask_babel import gettext as _

from training_tracker.services.core import bounded_reading
from training_tracker.services.core.bounded_reading import Limits
from training_tracker.services.imports.table import ImportFileError, Table, read_table


def read_upload(data: bytes, *, max_rows: int, limits: Limits) -> Table:
    """The table of an uploaded file; raises ImportFileError, also when a limit stopped it."""
    try:
        return bounded_reading.run(read_table, data, max_rows=max_rows, limits=limits)
    except bounded_reading.LimitExceeded:
        raise ImportFileError(
            _(
                "Filen kunde inte läsas: den tog för lång tid eller för mycket minne att "
                "packa upp. Kontrollera att det är en vanlig export från HR-systemet, eller "
                "dela upp den i mindre filer."
            )
        ) from None

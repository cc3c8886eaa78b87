"""Coverage and the other reports: the start page's summaries, the person page, the coverage
report with its cache, what a reader may see of small groups, and exports as CSV and XLSX.

The coverage report is reached through :mod:`.coverage`, a facade choosing between the cache
(:mod:`.coverage_cache`, over :mod:`.coverage_cache_freshness` and :mod:`.coverage_cache_store`)
and the live computation (:mod:`.coverage_live`, :mod:`.coverage_new_hires`), both built on the
report's values (:mod:`.coverage_types`) and its counting rules as SQL (:mod:`.coverage_facts`).
"""

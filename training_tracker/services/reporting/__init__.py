"""Coverage and the other reports: the live computation, its cache, the start page's summaries,
exports as CSV and XLSX.
"""

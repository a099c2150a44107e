"""`tousu report monthly`: one month's KPIs as an XLSX workbook and PNG charts.

Import from the modules (``monthly``, ``figures``, ``charts`` …): this package
stays empty so that a service importing ``names`` does not load matplotlib.
"""

"""`tousu report monthly`: one month's KPIs as an XLSX workbook and PNG charts."""

from services.metrics.report.figures import MonthlyFigures, ReportPeriod, report_period
from services.metrics.report.labels import Language
from services.metrics.report.monthly import ReportFiles, monthly_report
from services.metrics.report.source import KpiSource

__all__ = [
    "KpiSource",
    "Language",
    "MonthlyFigures",
    "ReportFiles",
    "ReportPeriod",
    "monthly_report",
    "report_period",
]

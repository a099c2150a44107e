"""`tousu import`: an earlier system's complaints, from CSV or XLSX through a
mapping file, stored as imported late entries with their real dates
(docs/import.md)."""

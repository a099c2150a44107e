"""The notices (告知书) of a complaint as PDF: for staff on the case, and for the
complainant with the tracking number and access code."""

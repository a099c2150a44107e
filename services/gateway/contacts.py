"""The contact details a complainant gives, as every public entry checks them.

One rule for the web form and the public JSON API (and any channel that takes
contacts from the public): a phone number that can be dialled, an e-mail
address that can be written to, and bounded lengths.
"""

from __future__ import annotations

import re
from typing import Final

from tousu.shared.domain.commands import SHORT
from tousu.shared.intake.duplicates import normalize_phone

# Longest accepted input per contact field (the web form's inputs' maxlength too).
LIMITS: Final[dict[str, int]] = {"name": 100, "phone": 40, "email": 254, "address": SHORT}

# Digits, with the separators people write: spaces, dashes, brackets, a leading +.
_PHONE = re.compile(r"^\+?[0-9][0-9 \-()（）]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def valid_phone(phone: str) -> bool:
    """Looks like a number we can call (at least 7 digits once separators go)."""
    return (
        len(phone) <= LIMITS["phone"]
        and _PHONE.match(phone) is not None
        and normalize_phone(phone) is not None
    )


def valid_email(email: str) -> bool:
    return len(email) <= LIMITS["email"] and _EMAIL.match(email) is not None

"""Who sees a complainant's full personal data, and what the others see.

Full data is for the people who contact the complainant: the operator
(受理员: intake, 回访) and the handler the case is assigned to (承办人).
Department heads, supervisors, admins and other handlers manage cases, not
people: they see ``张**``, ``138****5678``. Lists never carry personal data.
"""

from __future__ import annotations

from tousu.shared.events.types import Complainant


def sees_full_data(role: str, username: str, case_handler: str | None) -> bool:
    return role == "operator" or (role == "handler" and case_handler == username)


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``; a short number keeps only its last 2 digits."""
    digits = phone.strip()
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1)


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def masked(who: Complainant) -> Complainant:
    """``who`` with name, phone and e-mail masked; the address, the ID
    number and the WeChat OpenID are left out (no part of them is both useful and harmless)."""
    return who.model_copy(
        update={
            "name": mask_name(who.name) if who.name else None,
            "phone": mask_phone(who.phone) if who.phone else None,
            "email": mask_email(who.email) if who.email else None,
            "address": None,
            "id_number": None,
            "wechat_openid": None,
        }
    )

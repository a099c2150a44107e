"""GET services and a service definition, from the commitment register.

A service is a register item: ``service_code`` is its code, ``group`` the
name of its department, ``keywords`` the parts of its content (服务内容).
Every service has attributes (``metadata`` true) and answers at once with a
``service_request_id`` (``type`` realtime).
"""

from __future__ import annotations

import re
from typing import Any

from tousu.services.gateway.open311.attributes import attributes_for
from tousu.services.gateway.problems import Lang
from tousu.shared.intake.commitments import CommitmentRegister, ServiceItem
from tousu.shared.intake.taxonomy import Taxonomy

# The content lists its parts with 、 in Chinese and commas in English.
_PARTS = re.compile(r"\s*[、，,;；]\s*|\s+and\s+")


def keywords(item: ServiceItem, lang: Lang) -> str:
    parts = (p.strip() for p in _PARTS.split(item.content.get(lang)))
    return ", ".join(p for p in parts if p)


def service(register: CommitmentRegister, item: ServiceItem, lang: Lang) -> dict[str, Any]:
    return {
        "service_code": item.code,
        "service_name": item.name.get(lang),
        "description": item.content.get(lang),
        "metadata": True,
        "type": "realtime",
        "keywords": keywords(item, lang),
        "group": register.department(item.department).name.get(lang),
    }


def services(register: CommitmentRegister, lang: Lang) -> list[dict[str, Any]]:
    return [service(register, item, lang) for item in register.items]


def definition(item: ServiceItem, taxonomy: Taxonomy, lang: Lang) -> dict[str, Any]:
    return {
        "service_code": item.code,
        "attributes": [
            {
                "variable": True,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": (
                    a.datatype_description.get(lang) if a.datatype_description else None
                ),
                "order": order,
                "description": a.description.get(lang),
                "values": [{"key": k, "name": n.get(lang)} for k, n in a.choices(taxonomy)],
            }
            for order, a in enumerate(attributes_for(item.code), start=1)
        ],
    }

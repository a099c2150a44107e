"""Group keys (department and category codes, channels) as people read them."""

from __future__ import annotations

from dataclasses import dataclass, field

from tousu.services.metrics.kpi import GroupBy
from tousu.services.metrics.report.labels import CHANNELS, NO_GROUP
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.i18n import Lang
from tousu.shared.intake.taxonomy import Taxonomy, UnknownCode


@dataclass(frozen=True)
class GroupNames:
    register: CommitmentRegister = field(default_factory=CommitmentRegister.load)
    taxonomy: Taxonomy = field(default_factory=Taxonomy.load)

    def name(self, group_by: GroupBy, key: str | None, lang: Lang) -> str:
        """The readable name; a code the packaged data no longer knows (a department
        removed from the register since) shows as itself rather than failing the report."""
        if key is None:
            return NO_GROUP[group_by].get(lang)
        try:
            match group_by:
                case "department":
                    return self.register.department(key).name.get(lang)
                case "category":
                    return self.taxonomy.category(key).name.get(lang)
                case "channel":
                    return CHANNELS[key].get(lang) if key in CHANNELS else key
                case _:
                    return key
        except UnknownCode:
            return key

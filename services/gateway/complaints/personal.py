"""A case's personal data as a staff member may see it.

Every staff view of a case goes through :func:`viewed_case`: the
complainant's sealed fields are opened, masked for a role that does not
contact the complainant (``tousu.shared.privacy.masking``), and a full view is
recorded in ``personal_data_views``. Commands load cases without opening
anything: deciding never needs a name or a phone number.
"""

from __future__ import annotations

import uuid

from tousu.services.gateway.auth import Principal
from tousu.services.gateway.complaints.reader import Case, visible_case
from tousu.shared.domain.state import replay
from tousu.shared.events.types import Complainant
from tousu.shared.privacy.keys import Queryable
from tousu.shared.privacy.masking import masked, sees_full_data
from tousu.shared.privacy.reveal import replace_complainants, reveal_history
from tousu.shared.privacy.sealing import PERSONAL_FIELDS
from tousu.shared.privacy.views_log import record_view
from tousu.shared.store.postgres import PostgresEventStore


def _shows_personal_data(who: Complainant | None) -> bool:
    return who is not None and any(getattr(who, f) for f in PERSONAL_FIELDS)


async def revealed_case(pool: Queryable, case: Case) -> Case:
    """``case`` with the complainant's data opened (for the complainant themself)."""
    history = await reveal_history(pool, case.history)
    return Case(replay(history), history)


async def personal_case(
    pool: Queryable, case: Case, principal: Principal, complaint_id: uuid.UUID, view: str
) -> Case:
    """``case`` as ``principal`` may see its complainant; a full view is logged."""
    history = await reveal_history(pool, case.history)
    if not sees_full_data(principal.role, principal.username, case.state.handler):
        history = replace_complainants(history, masked)
        return Case(replay(history), history)
    shown = Case(replay(history), history)
    if _shows_personal_data(shown.state.complainant):
        await record_view(pool, principal.username, principal.role, complaint_id, view)
    return shown


async def viewed_case(
    store: PostgresEventStore, complaint_id: uuid.UUID, principal: Principal, view: str
) -> Case:
    """:func:`visible_case` (404 for a case ``principal`` may not see) with its
    personal data as ``principal`` may see it, the view recorded."""
    case = await visible_case(store, complaint_id, principal)
    return await personal_case(store.pool, case, principal, complaint_id, view)


async def document_case(
    store: PostgresEventStore, complaint_id: uuid.UUID, principal: Principal, view: str
) -> Case:
    """:func:`visible_case` for reprinting a document of record (a notice as
    it was sent): the complainant's data in full whatever the role, since a
    reprint is the document sent, not a page; masking is the pages' job. The
    full view is recorded in ``personal_data_views`` as every full view is."""
    case = await visible_case(store, complaint_id, principal)
    shown = await revealed_case(store.pool, case)
    if _shows_personal_data(shown.state.complainant):
        await record_view(store.pool, principal.username, principal.role, complaint_id, view)
    return shown

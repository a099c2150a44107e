"""``/api/v1/complaints``: the staff actions (commands over NATS) and the case reads."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tousu.services.gateway.auth import DEPARTMENT_ROLES, Principal
from tousu.services.gateway.auth.dependencies import CurrentUser, get_pool, require_roles
from tousu.services.gateway.complaints.actions import ACTIONS, MERGE, Action
from tousu.services.gateway.complaints.bodies import body_model, has_required_fields
from tousu.services.gateway.complaints.client import CommandClient
from tousu.services.gateway.complaints.personal import viewed_case
from tousu.services.gateway.complaints.reader import visible_case
from tousu.services.gateway.complaints.request_id import correlation_id
from tousu.services.gateway.complaints.versions import IfMatch, etag, expected_version
from tousu.services.gateway.complaints.views import CaseOut, CommandResult, case_out, status_label
from tousu.services.gateway.problems import (
    PROBLEM_JSON,
    Conflict,
    Text,
    Unprocessable,
    field_errors,
    request_language,
)
from tousu.services.metrics.views import CaseFilter, list_cases
from tousu.shared.domain.status import Status
from tousu.shared.events import utcnow
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

ComplaintId = Annotated[uuid.UUID, Path(description="The complaint's id (a UUID)")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Send the same key again to repeat a request safely: the action is "
        "done once, and the repeat answers what the first did.",
    ),
]
_IDEMPOTENCY_NAMESPACE = uuid.UUID("5e0b8f3c-6f0e-4d2a-9a43-7c1f0f1c7d55")

_PROBLEM: dict[str, Any] = {"content": {PROBLEM_JSON: {}}}
_ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "The role may not do this", **_PROBLEM},
    404: {"description": "No such complaint (or not your department's)", **_PROBLEM},
    409: {
        "description": "Not allowed in the current state, or the case changed since the "
        "If-Match version (`current_state`, `current_version`)",
        **_PROBLEM,
    },
    422: {"description": "Invalid input (`errors` name each field)", **_PROBLEM},
    503: {"description": "The service that handles it is unavailable", **_PROBLEM},
}


def get_store(request: Request) -> PostgresEventStore:
    store: PostgresEventStore = request.app.state.connections.store
    return store


def command_id(key: str | None, complaint_id: uuid.UUID, action: str) -> uuid.UUID:
    """A new id, or the one ``key`` always gives for this complaint and action.

    Scoped to (complaint, action): a key a client reuses elsewhere then starts
    a new command there instead of colliding with the first one's event ids.
    """
    if key is None:
        return uuid.uuid4()
    try:
        base = uuid.UUID(key)
    except ValueError:
        base = uuid.uuid5(_IDEMPOTENCY_NAMESPACE, key)
    return uuid.uuid5(base, f"{complaint_id}/{action}")


# Past any real list, and far inside the bigint PostgreSQL takes for OFFSET.
MAX_OFFSET = 10_000_000


class ActionHandler:
    """What every action route does once FastAPI has checked the role and the body."""

    def __init__(self, settings: Settings) -> None:
        self._naming = settings.naming

    async def __call__(
        self,
        action: Action,
        request: Request,
        complaint_id: uuid.UUID,
        principal: Principal,
        body: BaseModel | None,
        idempotency_key: str | None,
        if_match: str | None = None,
    ) -> CommandResult:
        seen = expected_version(if_match)
        await visible_case(get_store(request), complaint_id, principal)
        fields = body.model_dump(exclude_unset=True) if body is not None else {}
        occurred_at = fields.pop("occurred_at", None) or utcnow()
        try:
            command = action.command.model_validate(
                {
                    **fields,
                    "actor": principal.actor(),
                    "occurred_at": occurred_at,
                    "command_id": command_id(idempotency_key, complaint_id, action.name),
                    "correlation_id": correlation_id(request),
                    "expected_version": seen,
                }
            )
        except ValidationError as exc:
            # The body passed the same model, so only what the gateway adds can
            # fail here; still the client's input, never a 500.
            lang = request_language(request)
            raise Unprocessable(errors=field_errors(exc.errors(), lang)) from None
        client = CommandClient(request.app.state.connections.nats, self._naming)
        result = await client.send(action, complaint_id, command)
        label = status_label(result.get("status"), request_language(request))
        return CommandResult.model_validate({**result, "status_label": label})


def _action_endpoint(
    action: Action, handler: ActionHandler
) -> Callable[..., Awaitable[CommandResult]]:
    body = body_model(action.command)
    required = has_required_fields(body)

    async def endpoint(**kw: Any) -> CommandResult:
        return await handler(
            action,
            kw["request"],
            kw["complaint_id"],
            kw["principal"],
            kw["body"],
            kw["idempotency_key"],
            kw["if_match"],
        )

    # FastAPI reads the parameters from the signature: built here because the
    # body's type is made at run time, one per command.
    keyword = inspect.Parameter.KEYWORD_ONLY
    body_type: Any = body if required else body | None
    parameters = [
        inspect.Parameter("complaint_id", keyword, annotation=ComplaintId),
        inspect.Parameter("request", keyword, annotation=Request),
        inspect.Parameter(
            "principal",
            keyword,
            annotation=Annotated[Principal, Depends(require_roles(*action.roles))],
        ),
        inspect.Parameter(
            "body",
            keyword,
            annotation=Annotated[body_type, Body()],
            default=inspect.Parameter.empty if required else None,
        ),
        inspect.Parameter("idempotency_key", keyword, annotation=IdempotencyKey, default=None),
        inspect.Parameter("if_match", keyword, annotation=IfMatch, default=None),
    ]
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        parameters, return_annotation=CommandResult
    )
    endpoint.__name__ = f"complaint_{action.name.replace('-', '_')}"
    return endpoint


class CaseListItem(BaseModel):
    complaint_id: uuid.UUID
    tracking_no: str | None
    status: Status
    status_label: str
    department: str | None
    handler: str | None
    channel: str | None
    category: str | None
    subject: str | None
    received_at: datetime | None
    acceptance_due_at: datetime | None
    feedback_due_at: datetime | None
    overdue: bool
    updated_at: datetime
    version: int


class CaseList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[CaseListItem]


class MergeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duplicate_of: uuid.UUID = Field(description="The primary complaint this one duplicates")


class _LinkFields(BaseModel):
    primary_complaint_id: str
    duplicate_complaint_id: str
    linked: bool


MergePrincipal = Annotated[Principal, Depends(require_roles(*MERGE.roles))]
NOT_MERGED = Text("该投诉未并入其他投诉", "The complaint is not merged into another one")


def _add_merge_routes(router: APIRouter, handler: ActionHandler) -> None:
    roles = MERGE.roles

    @router.post(
        "/{complaint_id}/merge",
        response_model=CommandResult,
        responses=_ACTION_RESPONSES,
        summary="merge (LinkDuplicate)",
        description=f"Roles: {', '.join(roles)}. Merges this complaint, as a duplicate "
        "(重复件), into `duplicate_of`; both record the link.",
        operation_id="complaint_merge",
    )
    async def merge(
        complaint_id: ComplaintId,
        body: MergeBody,
        request: Request,
        principal: MergePrincipal,
        idempotency_key: IdempotencyKey = None,
    ) -> CommandResult:
        link = _LinkFields(
            primary_complaint_id=str(body.duplicate_of),
            duplicate_complaint_id=str(complaint_id),
            linked=True,
        )
        return await handler(MERGE, request, complaint_id, principal, link, idempotency_key)

    @router.delete(
        "/{complaint_id}/merge",
        response_model=CommandResult,
        responses=_ACTION_RESPONSES,
        summary="unmerge (LinkDuplicate, linked=false)",
        description=f"Roles: {', '.join(roles)}. Undoes the merge of this duplicate.",
        operation_id="complaint_unmerge",
    )
    async def unmerge(
        complaint_id: ComplaintId,
        request: Request,
        principal: MergePrincipal,
        idempotency_key: IdempotencyKey = None,
    ) -> CommandResult:
        case = await visible_case(get_store(request), complaint_id, principal)
        primary = case.state.merged_into
        if primary is None:
            status = case.state.status.value if case.state.status else None
            raise Conflict(NOT_MERGED, code="not_merged", current_state=status)
        link = _LinkFields(
            primary_complaint_id=primary, duplicate_complaint_id=str(complaint_id), linked=False
        )
        # Its own key space: the same key sent to merge and unmerge is two commands.
        key = f"unmerge:{idempotency_key}" if idempotency_key else None
        return await handler(MERGE, request, complaint_id, principal, link, key)


def complaints_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])
    handler = ActionHandler(settings)

    @router.get("", response_model=CaseList, operation_id="list_complaints")
    async def list_complaints(
        request: Request,
        principal: CurrentUser,
        status: Annotated[list[Status] | None, Query(description="One or more statuses")] = None,
        department: Annotated[str | None, Query(max_length=64)] = None,
        overdue: Annotated[bool | None, Query(description="Past an owed date")] = None,
        q: Annotated[
            str | None, Query(max_length=200, description="In the tracking no. or subject")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> CaseList:
        """Cases, newest received first; department roles see their department's only.

        Read from the case index, which follows the event store by a moment.
        """
        scoped = principal.role in DEPARTMENT_ROLES
        case_filter = CaseFilter(
            statuses=tuple(status or ()),
            department=department,
            overdue=overdue,
            q=q.strip() if q and q.strip() else None,
            scope_department=principal.department if scoped else None,
            scoped=scoped,
        )
        total, rows = await list_cases(get_pool(request), case_filter, limit=limit, offset=offset)
        lang = request_language(request)
        items = [
            CaseListItem.model_validate({**r, "status_label": status_label(r["status"], lang)})
            for r in rows
        ]
        return CaseList(total=total, limit=limit, offset=offset, items=items)

    @router.get(
        "/{complaint_id}",
        response_model=CaseOut,
        responses={404: _ACTION_RESPONSES[404]},
        operation_id="get_complaint",
    )
    async def get_complaint(
        complaint_id: ComplaintId, request: Request, response: Response, principal: CurrentUser
    ) -> CaseOut:
        """A case's state, deadlines and full timeline, from the event store.

        The complainant's details in full for the operator and the assigned
        handler (each such view is logged), masked for everyone else."""
        case = await viewed_case(get_store(request), complaint_id, principal, "api_case")
        response.headers["ETag"] = etag(case.state.version)
        return case_out(complaint_id, case, request_language(request))

    _add_merge_routes(router, handler)
    for action in ACTIONS:
        roles = ", ".join(action.roles)
        router.add_api_route(
            f"/{{complaint_id}}/{action.name}",
            _action_endpoint(action, handler),
            methods=["POST"],
            response_model=CommandResult,
            responses=_ACTION_RESPONSES,
            summary=f"{action.name} ({action.command.name()})",
            description=f"Roles: {roles}. Sent to the {action.service} service "
            f"as `{action.command.name()}`; the actor is the signed-in user.",
            operation_id=f"complaint_{action.name.replace('-', '_')}",
        )
    return router

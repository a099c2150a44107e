"""Users and API tokens in PostgreSQL (tables of migration 0003_users)."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from tousu.services.gateway.auth.passwords import hash_password
from tousu.services.gateway.auth.roles import DEPARTMENT_ROLES, ROLES, Principal, StaffRole
from tousu.services.gateway.auth.tokens import new_token, token_digest
from tousu.shared.intake.commitments import CommitmentRegister

# A pool or one connection: both run single statements, which is all this
# module needs (each change is one statement, so it needs no transaction).
Db = asyncpg.Pool | asyncpg.Connection

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
DEPARTMENT = re.compile(r"^[A-Za-z0-9_-]+$")

_USER_COLUMNS = (
    "u.id, u.username, u.display_name, u.role, u.department, u.active, u.created_at, u.service"
)


class UserExists(Exception):
    pass


class InvalidUser(ValueError):
    pass


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    username: str
    display_name: str
    role: StaffRole
    department: str | None
    active: bool
    created_at: datetime
    active_tokens: int = 0
    # A department system's account (tousu users add --service): API token only.
    service: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "department": self.department,
            "active": self.active,
            "created_at": self.created_at.isoformat(),
            "active_tokens": self.active_tokens,
            "service": self.service,
        }


@dataclass(frozen=True)
class IssuedToken:
    """A new token; ``token`` is the only copy of the secret there will ever be."""

    id: uuid.UUID
    token: str
    name: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class TokenInfo:
    id: uuid.UUID
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Revocation:
    token_id: uuid.UUID
    revoked_at: datetime
    already: bool  # it had been revoked before this call


def normalize_username(username: str) -> str:
    return username.strip().lower()


def check_new_user(username: str, role: str, department: str | None) -> None:
    """Raise InvalidUser with a message fit for the user, before touching the database."""
    if not USERNAME.match(username):
        raise InvalidUser(
            f"username {username!r} is not valid: 1-64 characters, lower-case letters, "
            "digits, '.', '_' or '-', starting with a letter or digit"
        )
    if role not in ROLES:
        raise InvalidUser(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if role in DEPARTMENT_ROLES:
        if not department:
            raise InvalidUser(f"a {role} needs a department (--department)")
        if not DEPARTMENT.match(department) or department == "_":
            raise InvalidUser(
                f"department {department!r} is not a valid code: letters, digits, '_' or '-'"
            )
        # Cases go only to the register's departments: an account elsewhere
        # could never see a case, and its department would pass for a real one.
        known = [d.code for d in CommitmentRegister.load().departments]
        if department not in known:
            raise InvalidUser(
                f"unknown department {department!r}: one of the commitment register's "
                f"({', '.join(known)})"
            )
    elif department:
        raise InvalidUser(f"a {role} has no department; only handler and dept_head have one")


def _user(row: asyncpg.Record) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        department=row["department"],
        active=row["active"],
        created_at=row["created_at"],
        active_tokens=row.get("active_tokens") or 0,
        service=row.get("service") or False,
    )


async def create_user(
    db: Db,
    username: str,
    *,
    role: StaffRole,
    password_hash: str,
    department: str | None = None,
    display_name: str | None = None,
    service: bool = False,
) -> User:
    """A new account; ``service``: a department system's (a handler of
    ``department`` that never signs in: ``password_hash`` is ignored)."""
    username = normalize_username(username)
    check_new_user(username, role, department)
    if service and role != "handler":
        raise InvalidUser(f"a service account acts as a department's handler, not a {role}")
    try:
        row = await db.fetchrow(
            """INSERT INTO users (username, display_name, role, department, password_hash,
                                  service)
               VALUES ($1, $2, $3, $4, $5, $6)
               RETURNING id, username, display_name, role, department, active, created_at,
                         service""",
            username,
            display_name or username,
            role,
            department,
            # A service account's password is a secret nobody keeps: sign-in
            # refuses it, and takes as long as for a person (timing tells nothing).
            hash_password(secrets.token_urlsafe(32)) if service else password_hash,
            service,
        )
    except asyncpg.UniqueViolationError:
        raise UserExists(f"user {username!r} exists already") from None
    assert row is not None
    return _user(row)


async def get_user(db: Db, username: str) -> User | None:
    row = await db.fetchrow(
        f"SELECT {_USER_COLUMNS} FROM users u WHERE u.username = $1",
        normalize_username(username),
    )
    return _user(row) if row else None


async def get_credentials(db: Db, username: str) -> tuple[User, str] | None:
    """The user and their password hash, for signing in (inactive users included)."""
    row = await db.fetchrow(
        f"SELECT {_USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = $1",
        normalize_username(username),
    )
    return (_user(row), row["password_hash"]) if row else None


async def set_password_hash(db: Db, user_id: uuid.UUID, password_hash: str) -> None:
    await db.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash)


async def list_users(db: Db) -> list[User]:
    rows = await db.fetch(
        f"""SELECT {_USER_COLUMNS},
                   count(t.id) FILTER (WHERE t.revoked_at IS NULL AND t.expires_at > now())
                       AS active_tokens
              FROM users u LEFT JOIN api_tokens t ON t.user_id = u.id
             GROUP BY u.id
             ORDER BY u.username"""
    )
    return [_user(r) for r in rows]


async def disable_user(db: Db, username: str) -> int | None:
    """Disable the user and revoke their tokens; the number revoked, None if no such user.

    Revoking too, not only relying on ``active``: re-enabling an account later
    must not bring old tokens back to life.
    """
    row = await db.fetchrow(
        """WITH u AS (
               UPDATE users SET active = false WHERE username = $1 RETURNING id
           ), t AS (
               UPDATE api_tokens SET revoked_at = now()
                WHERE user_id IN (SELECT id FROM u) AND revoked_at IS NULL
               RETURNING id
           )
           SELECT (SELECT count(*) FROM u) AS users, (SELECT count(*) FROM t) AS tokens""",
        normalize_username(username),
    )
    assert row is not None
    return int(row["tokens"]) if row["users"] else None


async def issue_token(db: Db, user_id: uuid.UUID, *, name: str, lifetime: timedelta) -> IssuedToken:
    token = new_token()
    row = await db.fetchrow(
        """INSERT INTO api_tokens (user_id, token_hash, name, expires_at)
           VALUES ($1, $2, $3, now() + $4::interval)
           RETURNING id, name, created_at, expires_at""",
        user_id,
        token_digest(token),
        name,
        lifetime,
    )
    assert row is not None
    return IssuedToken(row["id"], token, row["name"], row["created_at"], row["expires_at"])


async def principal_for_token(db: Db, token: str) -> Principal | None:
    """The principal of a live token (not expired, not revoked, user active), else None.

    Marks the token used, at most once a minute so that reads do not turn
    into a write each.
    """
    row = await db.fetchrow(
        """WITH hit AS (
               SELECT t.id AS token_id, u.id, u.username, u.display_name, u.role, u.department
                 FROM api_tokens t JOIN users u ON u.id = t.user_id
                WHERE t.token_hash = $1 AND t.revoked_at IS NULL
                  AND t.expires_at > now() AND u.active
           ), touched AS (
               UPDATE api_tokens SET last_used_at = now()
                WHERE id IN (SELECT token_id FROM hit)
                  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
           )
           SELECT * FROM hit""",
        token_digest(token),
    )
    if row is None:
        return None
    return Principal(
        user_id=row["id"],
        username=row["username"],
        role=row["role"],
        department=row["department"],
        display_name=row["display_name"],
        token_id=row["token_id"],
    )


async def list_tokens(db: Db, user_id: uuid.UUID) -> list[TokenInfo]:
    rows = await db.fetch(
        """SELECT id, name, created_at, expires_at, last_used_at, revoked_at
             FROM api_tokens WHERE user_id = $1 ORDER BY created_at""",
        user_id,
    )
    return [TokenInfo(**dict(r)) for r in rows]


async def revoke_token(db: Db, token_id: uuid.UUID) -> Revocation | None:
    """Revoke a token (idempotent); None when there is no such token."""
    row = await db.fetchrow(
        """WITH target AS (
               SELECT id, revoked_at FROM api_tokens WHERE id = $1
           ), revoked AS (
               UPDATE api_tokens SET revoked_at = now()
                WHERE id = $1 AND revoked_at IS NULL
               RETURNING revoked_at
           )
           SELECT target.revoked_at AS before, (SELECT revoked_at FROM revoked) AS now
             FROM target""",
        token_id,
    )
    if row is None:
        return None
    if row["before"] is not None:
        return Revocation(token_id, row["before"], already=True)
    return Revocation(token_id, row["now"], already=False)

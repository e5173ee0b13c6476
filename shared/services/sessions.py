"""Sessions: open, read, close and list them, the jobs in one, and the workspace's top-level items.

A session's status is derived from its jobs whenever it is read (`Session.refreshed`) and written back
when it changed, so a final status (Succeeded, Failed, Failure(s), TimedOut) is kept from then on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from pydantic import Field

from shared.domain.errors import (
    InvalidRequestError,
    SessionClosedError,
    SessionExistsError,
    SessionNotFoundError,
    StaleWriteError,
)
from shared.domain.ids import SessionId
from shared.domain.jobs import ItemRequest, Job, JobDetails, fingerprint
from shared.domain.query import MAX_PAGE, AllOf, Compare, Continuation, JobQuery, Op, QueryField, sort_key
from shared.domain.sessions import IDLE_TIMEOUT, JobFailurePolicy, Session, SessionDetails, SessionStatus
from shared.services.pipeline import Pipeline, retry_stale

logger = logging.getLogger(__name__)

# A session holds at most this many jobs; its status is derived from all of them.
MAX_SESSION_JOBS = 1000


class SessionRequest(ItemRequest):
    """The body of `PUT sessions/{id}`."""

    id: SessionId | None = None
    item_type: str | None = Field(None, pattern="^Session$")
    job_failure_policy: JobFailurePolicy = "Abort"


@dataclass(frozen=True)
class Opened:
    session: Session
    created: bool


@dataclass(frozen=True)
class SessionPage:
    sessions: list[Session]
    next: Continuation | None


@dataclass(frozen=True)
class ItemPage:
    items: list[JobDetails | SessionDetails]
    next: Continuation | None


def open_session(p: Pipeline, session_id: str, request: SessionRequest) -> Opened:
    """Create the session, or return it when the same request is replayed; a different one is a conflict."""
    if request.id is not None and request.id != session_id:
        raise InvalidRequestError(f"The body's id '{request.id}' differs from the path's '{session_id}'.", target="id")
    target = p.catalog.target(request.provider_id, request.target)
    digest = fingerprint(request.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"id"}))
    existing = p.sessions.get(session_id)
    if existing is not None:
        if existing.fingerprint != digest:
            raise SessionExistsError(f"Session '{session_id}' exists with a different request.", target="sessionId")
        return Opened(refresh(p, existing), created=False)
    now = p.clock.now()
    details = SessionDetails(
        id=session_id,
        name=request.name or session_id,
        provider_id=request.provider_id,
        target=target.id,
        job_failure_policy=request.job_failure_policy,
        priority=request.priority or "Standard",
        tags=request.tags or (),
        creation_time=now,
    )
    try:
        stored = p.sessions.create(Session(details=details, fingerprint=digest, last_activity=now))
    except SessionExistsError:
        return open_session(p, session_id, request)
    logger.info("Session %s opened on %s", session_id, target.id)
    return Opened(stored, created=True)


def get_session(p: Pipeline, session_id: str) -> Session:
    return refresh(p, _require(p, session_id))


def close_session(p: Pipeline, session_id: str) -> Session:
    """Accept no more jobs; the session ends when its last job does. Closing twice changes nothing."""

    def apply() -> Session:
        session = _require(p, session_id)
        if session.closed_at is not None or session.is_final:
            return refresh(p, session)
        return refresh(p, p.sessions.replace(session.closed(p.clock.now())))

    return retry_stale(apply)


def list_sessions(p: Pipeline, query: JobQuery) -> SessionPage:
    size = min(query.top, MAX_PAGE)
    rows = p.sessions.query(replace(query, top=size + 1))
    page = rows[:size]
    after = query.continuation([s.details for s in page]) if len(rows) > size else None
    return SessionPage([refresh(p, s) for s in page], after)


def session_jobs(p: Pipeline, session_id: str, query: JobQuery) -> JobQuery:
    """The list query for the jobs of one (existing) session."""
    _require(p, session_id)
    in_session = Compare(QueryField.SESSION_ID, Op.EQ, session_id)
    return replace(query, filter=in_session if query.filter is None else AllOf((in_session, query.filter)))


def top_level_items(p: Pipeline, query: JobQuery) -> ItemPage:
    """Jobs outside sessions and the sessions themselves, in one order, paged together.

    Both stores order on the same key (`sort_key`) of what they store, so the two lists merge on it and a
    continuation past an item of either applies to both. Only the sessions on the page are refreshed.
    """
    size = min(query.top, MAX_PAGE)
    window = replace(query, skip=0, top=query.skip + size + 1)
    jobs: list[JobDetails | SessionDetails] = [j.details for j in p.jobs.query(replace(window, top_level=True))]
    stored = {s.id: s for s in p.sessions.query(window)}
    field = query.orderby.field
    merged = sorted(
        [*jobs, *(s.details for s in stored.values())],
        key=lambda item: sort_key(item, field).ordered(),
        reverse=query.orderby.descending,
    )
    rows = merged[query.skip : query.skip + size + 1]
    page = [refresh(p, stored[i.id]).details if isinstance(i, SessionDetails) else i for i in rows[:size]]
    return ItemPage(page, query.continuation(rows[:size]) if len(rows) > size else None)


def admit(p: Pipeline, session_id: str, provider_id: str, target: str) -> Session:
    """Check that a job for `target` may join the session; raise an error the submitter can act on."""
    session = p.sessions.get(session_id)
    if session is None:
        raise InvalidRequestError(f"Session '{session_id}' does not exist; open it first.", target="sessionId")
    session = refresh(p, session)
    if session.is_final:
        raise SessionClosedError(
            "Session is already in a terminal state. This may have been due to failures in prior jobs in the "
            f"session. Session '{session.id}' is {session.status} and accepts no more jobs.",
            target="sessionId",
        )
    if not session.accepts_jobs:
        raise SessionClosedError(f"Session '{session.id}' is closed and accepts no more jobs.", target="sessionId")
    if (session.details.provider_id, session.details.target) != (provider_id, target):
        raise InvalidRequestError(
            f"Session '{session.id}' is for {session.details.target}; this job is for {target}.", target="sessionId"
        )
    return session


def joined(p: Pipeline, session_id: str) -> None:
    """A job joined the session: it is no longer idle."""

    def apply() -> None:
        session = _require(p, session_id)
        refresh(p, p.sessions.replace(session.touched(p.clock.now())))

    retry_stale(apply)


def abort_reason(p: Pipeline, job: Job) -> str | None:
    """Why a job may not start because its session was aborted by an earlier failure, or None."""
    session_id = job.details.session_id
    if session_id is None:
        return None
    session = p.sessions.get(session_id)
    if session is None:
        return None
    session = refresh(p, session)
    if session.status is SessionStatus.FAILED:
        return f"Session '{session_id}' was aborted: one of its jobs failed and its jobFailurePolicy is Abort."
    return None


def time_out_idle(p: Pipeline, now: datetime, limit: int) -> int:
    """Write the final status of sessions idle past the timeout; returns how many ended."""
    ended = 0
    for session in p.sessions.idle(now - IDLE_TIMEOUT, limit):
        ended += refresh(p, session).is_final
    return ended


def refresh(p: Pipeline, session: Session) -> Session:
    """The session with its status derived now; written back when it changed."""
    jobs = p.jobs.query(JobQuery(filter=Compare(QueryField.SESSION_ID, Op.EQ, session.id), top=MAX_SESSION_JOBS))
    current = session.refreshed(jobs, p.clock.now())
    if current.details == session.details:
        return session
    try:
        return p.sessions.replace(current)
    except StaleWriteError:
        return current  # someone else wrote it meanwhile; this derivation is still what is true now


def _require(p: Pipeline, session_id: str) -> Session:
    session = p.sessions.get(session_id)
    if session is None:
        raise SessionNotFoundError(f"Session '{session_id}' does not exist in this workspace.", target="sessionId")
    return session

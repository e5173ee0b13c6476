"""The list queries the azure-quantum SDK sends (shared/reference/azure-quantum-api.md §4.1), as query strings.

`list_jobs(name_match=..., status=[...], provider=[...], target=[...], created_after=..., created_before=...,
orderby_property=..., is_asc=...)` writes each argument as one clause of `filter` (joined with ` and `) and
`orderby` as `<Field> asc|desc`; `Session.list_jobs()` reads `sessions/{id}/jobs` and `list_top_level_items()`
reads `topLevelItems`. The tests check that each is served by an index (tests/integration/test_store_scale.py,
tests/infra/test_bicep.py); bench/scale.py times them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.domain.query import AllOf, Compare, JobQuery, Op, QueryField, parse_filter, parse_orderby

# The SDK's orderby_property values.
ORDERABLE = ("Name", "ItemType", "JobType", "ProviderId", "Target", "State", "CreationTime")


@dataclass(frozen=True)
class Shape:
    filter: str | None = None
    orderby: str | None = None
    session: str | None = None  # GET sessions/{session}/jobs
    top_level: bool = False  # GET topLevelItems
    # An index gives the order itself (no sort of the rows that match): one filtered column at most.
    ordered_by_index: bool = True

    def query(self, top: int = 100) -> JobQuery:
        """The query the API makes of the request (for sessions/{id}/jobs, as `sessions.session_jobs` does)."""
        found = parse_filter(self.filter)
        if self.session is not None:
            in_session = Compare(QueryField.SESSION_ID, Op.EQ, self.session)
            found = in_session if found is None else AllOf((in_session, found))
        return JobQuery(filter=found, orderby=parse_orderby(self.orderby), top=top, top_level=self.top_level)

    def params(self) -> dict[str, str]:
        """The request's query string, as the SDK writes it."""
        written = {"filter": self.filter, "orderby": self.orderby}
        return {"skip": "0", "top": "100", **{k: v for k, v in written.items() if v is not None}}


def sdk_shapes(since: date, until: date, session: str) -> dict[str, Shape]:
    """Each filter and order the SDK writes, with values for a store's jobs: created in [since, until]."""
    return {
        "oldest first (default)": Shape(),
        "name prefix": Shape(filter="startswith(Name, 'vqe-00')", ordered_by_index=False),
        "state": Shape(filter="(State eq 'Failed')"),
        "two states": Shape(filter="(State eq 'Cancelled' or State eq 'Failed')", ordered_by_index=False),
        "provider": Shape(filter="(ProviderId eq 'ionq')"),
        "target": Shape(filter="(Target eq 'quantinuum.sim.h2-1e')"),
        "created range": Shape(filter=f"CreationTime ge {since.isoformat()} and CreationTime le {until.isoformat()}"),
        "every SDK filter, newest first": Shape(
            filter="startswith(Name, 'vqe') and (ProviderId eq 'ionq') and (Target eq 'ionq.simulator')"
            f" and (State eq 'Succeeded') and CreationTime ge {since.isoformat()}",
            orderby="CreationTime desc",
        ),
        "session's jobs": Shape(session=session),
        "top-level items": Shape(top_level=True),
        **{
            f"orderby {field} {direction}": Shape(orderby=f"{field} {direction}")
            for field in ORDERABLE
            for direction in ("asc", "desc")
        },
    }

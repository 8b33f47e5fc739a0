"""``GET /audit``: the audit log of writes, newest first, for holders of the API key only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import SettingsDep, require_write_key
from api.errors import error_responses
from api.schemas import AuditEventOut, AuditPageOut
from kb.audit import AuditLog

router = APIRouter(tags=["audit"], dependencies=[Depends(require_write_key)], responses=error_responses(401, 403, 503))


@router.get("/audit", response_model=AuditPageOut, summary="Audit log of writes (needs the API key)")
def read_audit(
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Events per page.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Events to skip, counted from the newest.")] = 0,
) -> AuditPageOut:
    """Every ingest, delete, rebuild and migration, from the API and the `kb` command: when, who
    (a fingerprint of the key, or the command-line user), what, and how it ended."""
    page = AuditLog.of(settings.data_dir).read(limit=limit, offset=offset)
    end = offset + len(page.events)
    return AuditPageOut(total=page.total, offset=offset, limit=limit, next_offset=end if end < page.total else None,
                        events=[AuditEventOut.model_validate(e) for e in page.events])

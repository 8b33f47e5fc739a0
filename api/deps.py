"""Dependencies of the routes, as ``Annotated`` aliases.

The app keeps its :class:`~kb.settings.Settings` and :class:`~api.runtime.Runtime` on
``app.state`` (set by :func:`api.app.create_app` and its lifespan); tests can swap them with
``app.dependency_overrides[get_runtime] = ...``.

    @router.get("/acts")
    def acts(runtime: RuntimeDep) -> ActsResponse: ...

    @router.delete("/documents/{doc_id}")
    def delete(doc_id: str, runtime: RuntimeDep, auditor: AuditorDep) -> DeleteResponse:
        with auditor.record("delete", targets=[doc_id]) as event: ...

The dependencies here are ``async def``: they do no I/O, and FastAPI runs a plain ``def``
dependency in the request thread pool, where it would wait for one of the
``api.concurrent_requests`` places only to read ``app.state``.

The API key never travels further than :func:`_check_key`: routes get the caller's fingerprint
(:func:`kb.audit.key_actor`), which is what the audit log records.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from api.errors import ApiError
from api.runtime import Runtime
from kb.audit import AuditLog, key_actor
from kb.errors import StoreError
from kb.settings import Settings

API_KEY_HEADER = "X-API-Key"
_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                               description="The key set in api.api_key (KB_API__API_KEY).")


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_runtime(request: Request) -> Runtime:
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        raise StoreError("the service is starting or stopping; the store is not open")
    return runtime


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def keys_match(given: str, configured: str) -> bool:
    """Constant-time comparison of two keys. Both are hashed first, so ``compare_digest`` always
    sees two 32-byte digests: neither a shared prefix nor the key's length shows in the timing."""
    given_digest = hashlib.sha256(given.encode("utf-8")).digest()
    configured_digest = hashlib.sha256(configured.encode("utf-8")).digest()
    return hmac.compare_digest(given_digest, configured_digest)


def _check_key(settings: Settings, given: str | None, *, action: str) -> str:
    """The caller's fingerprint (``key:1a2b3c4d``) when ``given`` is the configured key, else 401/403."""
    configured = settings.api.api_key.get_secret_value() if settings.api.api_key else ""
    if not configured:
        raise ApiError(403, "forbidden", f"{action} are disabled: no API key is configured (set api.api_key, "
                       "environment KB_API__API_KEY)")
    if not given:
        raise ApiError(401, "unauthorized", f"{action} need the API key in the {API_KEY_HEADER} header",
                       field=API_KEY_HEADER, headers={"WWW-Authenticate": "ApiKey"})
    if not keys_match(given, configured):
        raise ApiError(401, "unauthorized", f"the {API_KEY_HEADER} header does not match the configured key",
                       field=API_KEY_HEADER, headers={"WWW-Authenticate": "ApiKey"})
    return key_actor(given)


async def require_write_key(settings: SettingsDep, key: Annotated[str | None, Security(_api_key_header)] = None) -> str:
    """Writes (ingest, delete) and the audit log always need the key; with no key configured they
    are refused (403). Returns the caller's fingerprint, never the key."""
    return _check_key(settings, key, action="writes")


async def require_read_key(settings: SettingsDep, key: Annotated[str | None, Security(_api_key_header)] = None) -> str | None:
    """Reads are open unless api.require_key_for_reads is set."""
    if not settings.api.require_key_for_reads:
        return None
    return _check_key(settings, key, action="reads")


WriteKeyDep = Annotated[str, Depends(require_write_key)]
ReadKeyDep = Annotated[str | None, Depends(require_read_key)]


@dataclass(frozen=True)
class Auditor:
    """Records this request's write in the audit log, as the key holder, from the client's address."""

    log: AuditLog
    actor: str
    client: str | None

    def record(self, action: str, *, targets: list[str]):
        return self.log.record(action, actor=self.actor, targets=targets, client=self.client)


def get_auditor(request: Request, settings: SettingsDep, actor: WriteKeyDep) -> Auditor:
    # The socket peer: behind a reverse proxy this is the proxy (forwarded headers are not trusted).
    client = request.client.host if request.client else None
    return Auditor(AuditLog.of(settings.data_dir), actor=actor, client=client)


AuditorDep = Annotated[Auditor, Depends(get_auditor)]

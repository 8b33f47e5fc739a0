"""Dependencies of the routes, as ``Annotated`` aliases.

The app keeps its :class:`~kb.settings.Settings` and :class:`~api.runtime.Runtime` on
``app.state`` (set by :func:`api.app.create_app` and its lifespan); tests can swap them with
``app.dependency_overrides[get_runtime] = ...``.

    @router.get("/acts")
    def acts(runtime: RuntimeDep) -> ActsResponse: ...

    @router.delete("/documents/{doc_id}")
    def delete(doc_id: str, runtime: RuntimeDep, _key: WriteKeyDep) -> DeleteResponse: ...
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from api.errors import ApiError
from api.runtime import Runtime
from kb.errors import StoreError
from kb.settings import Settings

API_KEY_HEADER = "X-API-Key"
_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                               description="The key set in api.api_key (KB_API__API_KEY).")


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_runtime(request: Request) -> Runtime:
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        raise StoreError("the service is starting or stopping; the store is not open")
    return runtime


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _check_key(settings: Settings, given: str | None, *, action: str) -> str:
    configured = settings.api.api_key.get_secret_value() if settings.api.api_key else ""
    if not configured:
        raise ApiError(403, "forbidden", f"{action} are disabled: no API key is configured (set api.api_key, "
                       "environment KB_API__API_KEY)")
    if not given:
        raise ApiError(401, "unauthorized", f"{action} need the API key in the {API_KEY_HEADER} header",
                       field=API_KEY_HEADER, headers={"WWW-Authenticate": "ApiKey"})
    # Compare bytes in constant time so the key cannot be guessed from response timing.
    if not hmac.compare_digest(given.encode("utf-8"), configured.encode("utf-8")):
        raise ApiError(401, "unauthorized", f"the {API_KEY_HEADER} header does not match the configured key",
                       field=API_KEY_HEADER, headers={"WWW-Authenticate": "ApiKey"})
    return given


def require_write_key(settings: SettingsDep, key: Annotated[str | None, Security(_api_key_header)] = None) -> str:
    """Writes (ingest, delete) always need the key; with no key configured they are refused (403)."""
    return _check_key(settings, key, action="writes")


def require_read_key(settings: SettingsDep, key: Annotated[str | None, Security(_api_key_header)] = None) -> str | None:
    """Reads are open unless api.require_key_for_reads is set."""
    if not settings.api.require_key_for_reads:
        return None
    return _check_key(settings, key, action="reads")


WriteKeyDep = Annotated[str, Depends(require_write_key)]
ReadKeyDep = Annotated[str | None, Depends(require_read_key)]

"""``GET /provisions/{act}/{section}`` (full text, sub-sections, footnotes, cross-references both
ways) and ``GET /acts`` (what is stored, with section counts)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api import render
from api.deps import RuntimeDep, SettingsDep, require_read_key
from api.errors import error_responses
from api.routes.documents import path_roots
from api.schemas import ActOut, ActsResponse, ProvisionResponse
from kb.acts import find_act
from kb.errors import NotFoundError

router = APIRouter(tags=["provisions"], dependencies=[Depends(require_read_key)], responses=error_responses(401, 403, 404, 503))

# "19", "2A", "67B", optionally followed by a sub-section path "(1)(da)" that only sets the focus.
_SECTION = re.compile(r"^\s*(?P<section>[0-9]+[A-Za-z]{0,3}|[A-Za-z0-9][\w.-]{0,30}?)\s*(?P<path>(?:\([^()]{1,12}\))*)\s*$")


def provision_key(act: str, section: str) -> tuple[str, str | None]:
    """(``act_key:section``, sub-section focus) for an Act key/alias and a section such as ``19(1)``."""
    match = _SECTION.match(section)
    if match is None:
        raise NotFoundError(f"no provision {section!r} in {act!r}: not a section number", act=act, section=section)
    info = find_act(act)
    act_key = info.key if info else act.strip().lower()
    return f"{act_key}:{match['section']}", match["path"] or None


@router.get("/provisions/{act}/{section}", response_model=ProvisionResponse, summary="One provision in full")
def get_provision(
    runtime: RuntimeDep,
    settings: SettingsDep,
    act: Annotated[str, Path(description="Act key or name, e.g. `pocso`, `IT Act`.", examples=["pocso"])],
    section: Annotated[str, Path(description="Section number, optionally with a sub-section: `19`, `67B`, `2(1)(da)`.",
                                 examples=["19"])],
) -> ProvisionResponse:
    """The stored text of a section with its sub-sections, amendment footnotes, the provisions it
    refers to (resolved: whether each is stored) and the stored provisions that refer to it."""
    key, focus = provision_key(act, section)
    store = runtime.store
    provision = store.get_provision(key)
    if provision is None:
        raise NotFoundError(f"no stored provision {key}", provision_key=key)
    refs = list(dict.fromkeys(provision.cross_refs))
    referring = [k for k in dict.fromkeys(store.referring_provisions(key)) if k != key]
    found = store.get_provisions([*refs, *referring])
    body = render.provision_json(
        provision,
        cross_refs={k: found.get(k) for k in refs},
        referred_by={k: found.get(k) for k in referring if k in found},
        focus=focus,
    )
    return ProvisionResponse.model_validate(render.public_sources(body, path_roots(settings)))


@router.get("/acts", response_model=ActsResponse, summary="Stored Acts and documents")
def list_acts(runtime: RuntimeDep) -> ActsResponse:
    """Every Act (and other document) in the store with its section and chunk counts."""
    return ActsResponse(acts=[ActOut(**summary.__dict__) for summary in runtime.store.list_acts()])

"""LM Studio's just-in-time (JIT) loading, read from what its API levels list.

With JIT loading on (LM Studio's default) a request naming a downloaded model loads it
first, and every listing shows all downloaded models. With it off, ``/api/v0/models``
and ``/v1/models`` list only loaded models while ``/api/v1/models`` (0.4+) still lists
everything. Comparing the levels therefore tells JIT's setting without asking for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lmtui.backend.types import ApiLevel, Capabilities, Model, ServerKind
from lmtui.services.clients import Client

JitSetting = Literal["on", "off", "unknown"]

TURN_ON_JIT = (
    "turn on Just-in-Time model loading in LM Studio (Developer → Server Settings), "
    "so a request loads the model it names"
)


@dataclass(frozen=True, slots=True)
class JitView:
    """What the listings say about JIT loading."""

    setting: JitSetting
    downloaded: tuple[str, ...] = ()  # chat models downloaded but not loaded (when known)


def infer_jit(
    v1: list[Model] | None, v0: list[Model] | None, openai: list[Model] | None
) -> JitView:
    """JIT's setting from the listings of each level (None: the level is not offered)."""
    lower = v0 if v0 is not None else openai
    if v1 is not None:
        unloaded = tuple(m.id for m in v1 if m.loaded is False and not m.is_embedding)
        if not unloaded or lower is None:
            return JitView("unknown", unloaded)
        listed = {m.id for m in lower}
        return JitView("on" if any(i in listed for i in unloaded) else "off", unloaded)
    if v0 is not None:
        unloaded = tuple(m.id for m in v0 if m.loaded is False and not m.is_embedding)
        # /api/v0 lists an unloaded model only with JIT on; listing none proves nothing.
        return JitView("on" if unloaded else "unknown", unloaded)
    return JitView("unknown")


async def read_jit(client: Client) -> JitView:
    """JIT's setting on ``client``'s server, from the listings detection fetched."""
    caps = await client.detect()
    if caps.kind is not ServerKind.LMSTUDIO:
        return JitView("unknown")
    return infer_jit(
        await client.listed_at(ApiLevel.NATIVE_V1),
        await client.listed_at(ApiLevel.NATIVE_V0),
        await client.listed_at(ApiLevel.OPENAI),
    )


def load_remedy(caps: Capabilities | None) -> str:
    """How to load a model, naming only what this server's API level offers."""
    if caps is not None and caps.has(ApiLevel.NATIVE_V1):
        return (
            "load one: `lmtui models load <model>`, L in lmtui's sidebar, "
            "`lms load <model>` or LM Studio's Developer tab"
        )
    if caps is not None and caps.kind is ServerKind.LMSTUDIO:
        # Loading over the API needs LM Studio 0.4's /api/v1.
        return "load one: `lms load <model>` or LM Studio's Developer tab"
    return "start the server with a model loaded"

"""Images for vision models, headless: file checks, data URLs, and the vision check.

Used by ``lmtui ask --image`` and by batch rows with ``image``/``images``. The
images go out as base64 data URLs in ``image_url`` content parts, exactly as the
TUI sends an attachment.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import ApiLevel, Capabilities, Model, image_data_url

if TYPE_CHECKING:
    from lmtui.backend.client import LMStudioClient

MAX_IMAGE_BYTES = 20 * 1000 * 1000
# What vision models behind LM Studio and llama.cpp take; SVG and the like are not pixels.
IMAGE_TYPES: dict[str, str] = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/webp": "WebP",
    "image/gif": "GIF",
}


class ImageError(LmtuiError):
    """An image file cannot be sent."""

    exit_code = 2
    kind = "image"
    default_remedy = "Give a PNG, JPEG, WebP or GIF file of at most 20 MB."


class VisionRequired(LmtuiError):
    """Images were given for a model the server says cannot see them."""

    exit_code = 2
    kind = "vision_required"


def _signature_matches(mime: str, head: bytes) -> bool:
    return {
        "image/png": head.startswith(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg": head.startswith(b"\xff\xd8\xff"),
        "image/gif": head.startswith((b"GIF87a", b"GIF89a")),
        "image/webp": head[:4] == b"RIFF" and head[8:12] == b"WEBP",
        "image/bmp": head.startswith(b"BM"),
    }.get(mime, False)


def check_image_file(
    path: Path,
    *,
    types: Mapping[str, str] = IMAGE_TYPES,
    error: type[LmtuiError] = ImageError,
    shown: str | None = None,
) -> str:
    """The MIME type of ``path`` if it is an image that can be sent, else raise ``error``.

    Args:
        path: the file.
        types: the accepted MIME types, each with the name said in messages.
        error: the error raised (the TUI's attach dialog raises its own).
        shown: how messages name the file (default: the whole path).

    Returns:
        Its MIME type, checked against its name, its size and its first bytes.
    """
    name = str(path) if shown is None else shown
    mime = mimetypes.guess_type(path.name)[0] or "unknown type"
    if mime not in types:
        raise error(f"Not a supported image ({mime}): {name}")
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        raise error(f"No such image file: {name}", "Check the path.") from None
    except OSError as exc:
        raise error(
            f"Cannot read {path}: {exc.strerror or exc}.", "Check the file's permissions."
        ) from None
    if size > MAX_IMAGE_BYTES:
        raise error(
            f"{name} is {size / 1e6:.1f} MB; the limit is {MAX_IMAGE_BYTES / 1e6:.0f} MB.",
            "Resize or recompress the image first.",
        )
    if not _signature_matches(mime, head):
        raise error(
            f"{name} is named like a {types[mime]} image but its content is not.",
            "Re-export the image in the format its name says.",
        )
    return mime


def check_image(path: Path) -> str:
    """Return the MIME type of ``path`` if it can be sent, else raise :class:`ImageError`."""
    return check_image_file(path)


def load_images(paths: Sequence[Path]) -> tuple[str, ...]:
    """Check every path, then read each into a data URL (all checked before any is read)."""
    for path in paths:
        check_image(path)
    urls = []
    for path in paths:
        try:
            urls.append(image_data_url(path))
        except (OSError, ValueError) as exc:
            raise ImageError(f"Cannot read {path}: {exc}.") from None
    return tuple(urls)


def vision_known(caps: Capabilities | None) -> bool:
    """True when the server says which models see images (LM Studio's native APIs)."""
    return caps is not None and (caps.has(ApiLevel.NATIVE_V1) or caps.has(ApiLevel.NATIVE_V0))


def require_vision(model_id: str, models: Sequence[Model], caps: Capabilities | None) -> None:
    """Refuse, before anything is sent, to send images to a model that cannot see them.

    Only a server that describes its models can refuse; a plain ``/v1`` server
    (llama.cpp, vLLM) is trusted to answer for itself.
    """
    if not vision_known(caps):
        return
    model = next((m for m in models if m.id == model_id), None)
    if model is None or model.is_vision:
        return
    seeing = [m.id for m in models if m.is_vision]
    hint = f"Vision models on this server: {', '.join(seeing)}." if seeing else ""
    raise VisionRequired(
        f"{model_id} cannot see images (the server lists no vision capability for it).",
        f"Pick a vision model with --model. {hint}".strip(),
    )


async def ensure_vision(client: LMStudioClient, model_id: str) -> None:
    """:func:`require_vision` with the server's own model list (one request)."""
    models = await client.list_models()
    require_vision(model_id, models, client.capabilities)

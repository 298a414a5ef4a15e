"""``lmtui ask --image``: data URLs on the wire, file checks, and the vision refusal."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from lmtui.services.images import ImageError, check_image
from tests.conftest import RunLmtui
from tests.fake_server import FakeModel, FakeServer
from tests.fake_workbench import image_urls

# The smallest real files of each kind: their magic bytes are what is checked.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 24
GIF = b"GIF89a" + b"\x00" * 24
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16

VLM = "qwen/qwen2.5-vl-7b"


def vision_server(**kwargs: object) -> FakeServer:
    """A fake LM Studio with a loaded vision model and a loaded text-only model."""
    models = [
        FakeModel("qwen2.5-7b-instruct", loaded=True),
        FakeModel(VLM, type="vlm", loaded=True),
    ]
    return FakeServer(models=models, strict_vision=True, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        ("a.png", PNG, "image/png"),
        ("a.jpg", JPEG, "image/jpeg"),
        ("a.gif", GIF, "image/gif"),
        ("a.webp", WEBP, "image/webp"),
    ],
)
def test_each_supported_kind_passes(tmp_path: Path, name: str, data: bytes, mime: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert check_image(path) == mime


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("a.svg", b"<svg/>", "Not a supported image"),
        ("a.png", JPEG, "named like a PNG"),
        ("missing.png", None, "No such image file"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, name: str, data: bytes | None, words: str) -> None:
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(ImageError) as info:
        check_image(path)
    assert words in info.value.message


def test_too_big_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lmtui.services import images

    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 16)
    path = tmp_path / "a.png"
    path.write_bytes(PNG)
    with pytest.raises(ImageError) as info:
        check_image(path)
    assert "the limit is" in info.value.message


def test_ask_sends_every_image_as_a_data_url(run_lmtui: RunLmtui, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    (tmp_path / "b.jpg").write_bytes(JPEG)
    with vision_server() as srv:
        done = run_lmtui(
            "ask",
            "--base-url",
            srv.base_url,
            "--no-save",
            "-m",
            VLM,
            "--image",
            str(tmp_path / "a.png"),
            "--image",
            str(tmp_path / "b.jpg"),
            "Describe",
        )
        assert done.returncode == 0, done.stderr
        body = srv.requests_to("/v1/chat/completions")[0].json_body
    assert image_urls(body) == [
        "data:image/png;base64," + base64.b64encode(PNG).decode(),
        "data:image/jpeg;base64," + base64.b64encode(JPEG).decode(),
    ]
    assert body["messages"][-1]["content"][0] == {"type": "text", "text": "Describe"}


def test_ask_refuses_images_for_a_model_without_vision_before_sending(
    run_lmtui: RunLmtui, tmp_path: Path
) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    with vision_server() as srv:
        done = run_lmtui(
            "ask",
            "--base-url",
            srv.base_url,
            "--no-save",
            "-m",
            "qwen2.5-7b-instruct",
            "--image",
            str(tmp_path / "a.png"),
            "Describe",
        )
        assert srv.requests_to("/v1/chat/completions") == []
    assert done.returncode == 2
    assert "qwen2.5-7b-instruct cannot see images" in done.stderr
    assert VLM in done.stderr and "Traceback" not in done.stderr


def test_ask_bad_image_fails_before_any_request(run_lmtui: RunLmtui, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"not a png at all")
    with vision_server() as srv:
        done = run_lmtui("ask", "--base-url", srv.base_url, "--image", str(tmp_path / "a.png"), "x")
        assert srv.requests == []
    assert done.returncode == 2 and "named like a PNG" in done.stderr

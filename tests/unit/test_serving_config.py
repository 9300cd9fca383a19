"""The vLLM plugin's configuration: when it acts, and the sentence each wrong setting stops vLLM with.
`register` and `open_resolver` are what vLLM calls; they must fail before vLLM itself is imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.samples import register_base
from modelport.serving import tiny_models, vllm_plugin
from modelport.serving.config import ServingConfigError, load_serving_config, plugin_enabled


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    register_base(tmp_path / "data", "tiny-qwen3", tiny_models.servable_base_config())
    return {
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1",
        "MODELPORT_DATA_DIR": str(tmp_path / "data"),
        "MODELPORT_VLLM_BASE": "tiny-qwen3",
        "MODELPORT_VLLM_CACHE_DIR": str(tmp_path / "cache"),
        "HOME": str(tmp_path / "home"),
    }


def test_a_complete_environment_loads(env: dict[str, str], tmp_path: Path) -> None:
    config = load_serving_config({**env, "MODELPORT_VLLM_WORKSPACES": "default,team-b"})
    assert config.base_model == "tiny-qwen3"
    assert config.workspaces == frozenset({"default", "team-b"})
    assert config.cache_dir == tmp_path / "cache" and config.cache_dir.is_dir()


def test_the_cache_defaults_to_the_user_cache_folder(env: dict[str, str], tmp_path: Path) -> None:
    del env["MODELPORT_VLLM_CACHE_DIR"]
    assert load_serving_config(env).cache_dir == tmp_path / "home" / ".cache" / "modelport" / "vllm-adapters"


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        ({"MODELPORT_VLLM_BASE": ""}, "MODELPORT_VLLM_BASE is not set"),
        ({"MODELPORT_VLLM_BASE": "qwen9-1t"}, "MODELPORT_VLLM_BASE is 'qwen9-1t', which is not a base model"),
        ({"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "0"}, "VLLM_ALLOW_RUNTIME_LORA_UPDATING is not 1"),
        ({"MODELPORT_VLLM_WORKSPACES": "default,,x"}, "MODELPORT_VLLM_WORKSPACES must be a comma-separated list"),
        ({"MODELPORT_VLLM_WORKSPACES": "team a"}, "'team a' is not one"),
        ({"MODELPORT_MAX_ATTEMPTS": "many"}, "MODELPORT_MAX_ATTEMPTS must be an integer"),
    ],
)
def test_a_wrong_setting_is_a_sentence_naming_the_variable(
    env: dict[str, str], change: dict[str, str], sentence: str
) -> None:
    with pytest.raises(ServingConfigError, match=sentence.replace("(", r"\(")):
        load_serving_config({**env, **change})


def test_a_cache_that_cannot_be_written_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ServingConfigError, match=r"MODELPORT_VLLM_CACHE_DIR \(.*a-file/cache\) cannot be written"):
        load_serving_config({**env, "MODELPORT_VLLM_CACHE_DIR": str(tmp_path / "a-file" / "cache")})


def test_a_cache_inside_the_model_store_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ServingConfigError, match="must not be inside the model store"):
        load_serving_config({**env, "MODELPORT_VLLM_CACHE_DIR": str(tmp_path / "data" / "models" / "cache")})


def test_a_base_that_takes_no_lora_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "data" / "base_models" / "tiny-qwen3" / "modelport.json").write_text('{"weight_types": ["full"]}')
    with pytest.raises(ServingConfigError, match="a base that accepts no LoRA imports"):
        load_serving_config(env)


def test_the_plugin_acts_only_where_it_is_wanted() -> None:
    assert not plugin_enabled({"MODELPORT_DATA_DIR": "/x"})  # e.g. `vllm serve` of a pulled full model
    assert plugin_enabled({"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True"})
    assert plugin_enabled({"MODELPORT_VLLM_BASE": "qwen3-8b"})


def test_register_does_nothing_without_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VLLM_ALLOW_RUNTIME_LORA_UPDATING", "MODELPORT_VLLM_BASE", "MODELPORT_VLLM_WORKSPACES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MODELPORT_VLLM_CACHE_DIR", raising=False)
    vllm_plugin.register()  # vLLM is not installed here: getting past this line proves nothing was imported


def test_register_stops_with_the_sentence(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**env, "MODELPORT_VLLM_BASE": ""}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        vllm_plugin.register()  # before it imports vLLM, which this venv lacks
    assert str(stopped.value.code).startswith("modelport vLLM plugin: MODELPORT_VLLM_BASE is not set")


def test_an_allowlist_needs_the_database(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "modelport.db"
    for name, value in {
        **env,
        "MODELPORT_VLLM_WORKSPACES": "default",
        "MODELPORT_DATABASE_URL": f"sqlite:///{missing}",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        vllm_plugin.open_resolver()
    assert "MODELPORT_VLLM_WORKSPACES needs the modelport database" in str(stopped.value.code)
    assert "MODELPORT_DATABASE_URL" in str(stopped.value.code)
    assert not missing.exists()  # no empty database was made on the way


def test_a_database_without_the_schema_is_refused(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    import sqlite3

    sqlite3.connect(empty).close()
    for name, value in {
        **env,
        "MODELPORT_VLLM_WORKSPACES": "default",
        "MODELPORT_DATABASE_URL": f"sqlite:///{empty}",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        vllm_plugin.open_resolver()
    assert "cannot be read as one (no such table" in str(stopped.value.code)

import dataclasses
from pathlib import Path

import pytest

from assistant import ConfigError, Settings


def test_precedence_flag_env_file_default(tmp_path):
    cfg = tmp_path / "a.toml"
    cfg.write_text('top_k = 7\nretrieval = "dense"\nindex_dir = "from-file"\n', encoding="utf-8")
    env = {"ASSISTANT_TOP_K": "9", "ASSISTANT_CONFIG": str(cfg)}
    s = Settings.load({"index_dir": "from-flag"}, env=env)
    assert s.index_dir == Path("from-flag")  # flag beats file
    assert s.top_k == 9                       # env beats file
    assert s.retrieval == "dense"             # file beats default
    assert s.corpus_dir == Path("corpus")     # default
    assert Settings.load(env={}).top_k == 5


def test_bad_values_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="top_k"):
        Settings.load(env={"ASSISTANT_TOP_K": "many"})
    with pytest.raises(ConfigError, match="retrieval"):
        Settings.load({"retrieval": "magic"}, env={})
    with pytest.raises(ConfigError, match="hedge_below"):
        Settings.load(env={"ASSISTANT_HEDGE_BELOW": "1.5"})
    with pytest.raises(ConfigError, match="abstain_threshold"):
        Settings.load({"abstain_threshold": -0.1}, env={})
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.load({"nope": 1}, env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("top_k = = 3", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(config_file=bad, env={})


def test_settings_are_frozen_and_hide_the_api_key():
    s = Settings.load({"llm_api_key": "sk-secret"}, env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.top_k = 3  # type: ignore[misc]
    assert "sk-secret" not in repr(s)

import pytest

from app.config import ConfigError, load_config


def write(tmp_path, text):
    path = tmp_path / "lens.yaml"
    path.write_text(text)
    return path


def test_defaults_without_file_or_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert config.llm.resolved_backend() == "none"
    assert config.llm.budget_usd == 0.25
    assert config.source_file is None


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, "prometheus_url: http://file:9090\nllm:\n  model: from-file\n  max_tokens: 1000\n")
    config = load_config(
        env={"LENS_PROMETHEUS_URL": "http://env:9090", "LENS_LLM_MAX_TOKENS": "3000"}, path=path
    )
    assert config.prometheus_url == "http://env:9090"
    assert config.llm.model == "from-file"
    assert config.llm.max_tokens == 3000
    assert config.source_file == str(path)


def test_unprefixed_names_from_the_readme_still_work():
    config = load_config(env={"PROMETHEUS_URL": "http://p:9090", "LOKI_URL": "http://l:3100"}, path=None)
    assert (config.prometheus_url, config.loki_url) == ("http://p:9090", "http://l:3100")


def test_lens_config_names_the_file(tmp_path):
    path = write(tmp_path, "timezone: Europe/Berlin\n")
    assert load_config(env={"LENS_CONFIG": str(path)}).timezone == "Europe/Berlin"


def test_a_secret_in_the_file_is_rejected_without_echoing_it(tmp_path):
    path = write(tmp_path, "llm:\n  api_key: sk-ant-do-not-print-me\n")
    with pytest.raises(ConfigError) as err:
        load_config(env={}, path=path)
    assert "llm.api_key" in str(err.value)
    assert "only from the environment" in str(err.value)
    assert "do-not-print-me" not in str(err.value)


def test_unknown_keys_and_bad_values_say_which(tmp_path):
    with pytest.raises(ConfigError, match="llm.modle"):
        load_config(env={}, path=write(tmp_path, "llm:\n  modle: x\n"))
    with pytest.raises(ConfigError, match="LENS_LLM_TIMEOUT='soon' is not a number"):
        load_config(env={"LENS_LLM_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match="LENS_TIMEZONE='Mars/Olympus' is not an IANA zone"):
        load_config(env={"LENS_TIMEZONE": "Mars/Olympus"})
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(env={}, path=write(tmp_path, "llm: [unclosed\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(env={"LENS_CONFIG": str(tmp_path / "missing.yaml")})


def test_backend_choice():
    assert load_config(env={"ANTHROPIC_API_KEY": "sk-ant-x"}).llm.resolved_backend() == "anthropic"
    local = load_config(env={"LENS_LLM_BASE_URL": "http://127.0.0.1:11434/v1", "LENS_LLM_MODEL": "qwen3"})
    assert local.llm.resolved_backend() == "openai"
    assert local.llm.prices() == (0.0, 0.0)
    assert (
        load_config(env={"ANTHROPIC_API_KEY": "k", "LENS_LLM_BACKEND": "none"}).llm.resolved_backend()
        == "none"
    )
    with pytest.raises(ConfigError, match="needs ANTHROPIC_API_KEY"):
        load_config(env={"LENS_LLM_BACKEND": "anthropic"})
    with pytest.raises(ConfigError, match="LENS_LLM_MODEL is not set"):
        load_config(env={"LENS_LLM_BASE_URL": "http://127.0.0.1:8080/v1"})
    with pytest.raises(ConfigError, match="not one of auto, anthropic, openai, none"):
        load_config(env={"LENS_LLM_BACKEND": "gpt"})


def test_the_key_never_shows_in_repr():
    config = load_config(env={"ANTHROPIC_API_KEY": "sk-ant-secret-value", "LENS_LLM_API_KEY": "local-secret"})
    assert "sk-ant-secret-value" not in repr(config)
    assert "local-secret" not in repr(config)
    assert config.llm.anthropic_api_key == "sk-ant-secret-value"


def test_known_model_prices_and_overrides():
    assert load_config(env={"ANTHROPIC_API_KEY": "k"}).llm.prices() == (3.0, 15.0)
    custom = load_config(env={"ANTHROPIC_API_KEY": "k", "LENS_LLM_MODEL": "claude-new"})
    assert custom.llm.prices() is None
    priced = load_config(
        env={
            "ANTHROPIC_API_KEY": "k",
            "LENS_LLM_MODEL": "claude-new",
            "LENS_LLM_PRICE_INPUT": "2",
            "LENS_LLM_PRICE_OUTPUT": "8",
        }
    )
    assert priced.llm.prices() == (2.0, 8.0)

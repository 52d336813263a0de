import pytest

from rag.config import Config, load_config
from rag.errors import ConfigError


def write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_need_no_file(monkeypatch):
    monkeypatch.delenv("RAG_CONFIG", raising=False)
    cfg = load_config()
    assert isinstance(cfg, Config)
    assert cfg.embedding.model == "default"
    assert cfg.corpus.path.endswith("corpus")


def test_values_are_typed_and_paths_resolved_against_the_file(tmp_path):
    cfg = load_config(write(tmp_path, "data_dir: idx\nchunking: {size: 300, overlap: 50}\n"))
    assert cfg.chunking.size == 300 and cfg.chunking.overlap == 50
    assert cfg.data_dir == str((tmp_path / "idx").resolve())


def test_rag_config_env_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_CONFIG", str(write(tmp_path, "retrieval: {top_k: 3}\n")))
    assert load_config().retrieval.top_k == 3


@pytest.mark.parametrize(
    "text, key",
    [
        ("chunking: {sise: 10}\n", "chunking.sise"),
        ("bogus: 1\n", "bogus"),
        ("chunking: {size: big}\n", "chunking.size"),
        ("chunking: {size: 100, overlap: 100}\n", "chunking.overlap"),
        ("retrieval: {mode: magic}\n", "retrieval.mode"),
        ("answer: {answerer: openai}\n", "llm.model"),
        ("embedding: {threads: true}\n", "embedding.threads"),
        ("corpus: {extensions: .md}\n", "corpus.extensions"),
        ("chunking: [1, 2]\n", "chunking"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, key):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert f"`{key}`" in str(err.value)


def test_bad_yaml_and_missing_file_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "a: [1,\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(write(tmp_path, "- 1\n- 2\n"))


def test_python_tags_are_refused(tmp_path):
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, "data_dir: !!python/object/apply:os.getcwd []\n"))

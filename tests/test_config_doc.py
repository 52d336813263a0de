"""The documented config (`rag config`, the block in docs/configuration.md) is generated from the typed config
and loads back to the defaults."""

import re

import yaml

from rag.config import PROJECT_ROOT, Config, config_from_dict
from rag.config_doc import documented_config


def test_documented_config_block_is_the_generated_one():
    page = (PROJECT_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", page, re.S)
    assert documented_config() in blocks, "docs/configuration.md's block is stale: paste `rag config` output"


def test_documented_config_loads_back_to_the_defaults(tmp_path):
    data = yaml.safe_load(documented_config())
    data["corpus"].pop("path")
    data.pop("data_dir")
    loaded = config_from_dict(data, tmp_path)
    defaults = Config()
    assert loaded.replace(corpus=defaults.corpus, data_dir=defaults.data_dir) == defaults


def test_every_key_is_documented():
    import dataclasses

    doc = documented_config()
    for section in dataclasses.fields(Config):
        assert re.search(rf"^{section.name}:", doc, re.M), section.name
        value = getattr(Config(), section.name)
        if dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                assert re.search(rf"^  {f.name}: ", doc, re.M), f"{section.name}.{f.name}"
    assert "  rerank: sentences  # sentences" in doc  # the comment beside the field comes along

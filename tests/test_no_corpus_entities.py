"""The product is not fitted to the shipped articles: no source file of rag/ or ui/ names an
organisation, place, person or product of the shipped corpus, and nothing special-cases the
company the shipped articles are about (its name as an LLM provider, `anthropic`, excepted).
Tests, the eval set and the shipped corpus itself may name them."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("*.py", "*.yaml", "*.js", "*.html", "*.css")

# Names from the four shipped articles (corpus/): their subjects, partners, people, products.
ENTITIES = [
    "Anthropic", "Claude", "Opus", "Sonnet", "GOV.UK", "Rwanda", "卢旺达", "Public First Action",
    "能源部", "Department of Energy", r"(?-i:\bDOE\b)", "DSIT", "科学、创新与技术部", "Genesis Mission", "创世纪使命",
    "Jared Kaplan", "Kaplan", "Paula Ingabire", "Elizabeth Kelly", "皮普·怀特", "Pip White", "Infosys",
    "ServiceNow", "CodePath", r"(?-i:\bALX\b)", "Iceland", "冰岛", "伦敦政治经济学院", "伦敦证券交易所",
    "劳伦斯利弗莫尔", "Lawrence Livermore", "国家核安全管理局",
]
NAMED = re.compile("|".join(e if e.startswith("(?") else re.escape(e) for e in ENTITIES), re.I)
# The LLM provider is called `anthropic` (registry key, LangChain class, API key variable):
# a protocol name, not the company special-cased.
PROVIDER = re.compile(r"\b(?:langchain_anthropic|ChatAnthropic|ANTHROPIC_API_KEY|anthropic_answerer)\b"
                      r"|(?<![A-Za-z])anthropic(?![A-Za-z])")

def mentions(path: Path) -> list[str]:
    found = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if NAMED.search(PROVIDER.sub(" ", line)):
            found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    return found


def product_files() -> list[Path]:
    files = []
    for top in ("rag", "ui"):
        for pattern in SOURCES:
            files += [p for p in (ROOT / top).rglob(pattern)
                      if "shipped_corpus" not in p.parts and "__pycache__" not in p.parts]
    return sorted(files)


def test_the_scan_finds_what_it_looks_for():
    assert NAMED.search("卢旺达那篇文章") and NAMED.search("What is the Genesis Mission?")
    assert NAMED.search(PROVIDER.sub(" ", '_GENERIC = re.compile(r"^(anthropic|claude|ai)?$")'))
    assert NAMED.search(PROVIDER.sub(" ", "Anthropic最新发布的是哪篇文章？"))
    assert not NAMED.search(PROVIDER.sub(" ", 'answerer: str = "extractive"  # extractive | anthropic | openai'))
    assert not NAMED.search(PROVIDER.sub(" ", "from langchain_anthropic import ChatAnthropic"))
    assert not NAMED.search("DOES Jane Doe know?")  # words, not the department's initials


@pytest.mark.parametrize("path", product_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_product_file_names_an_entity_of_the_shipped_articles(path):
    found = mentions(path)
    assert not found, "\n".join(found)

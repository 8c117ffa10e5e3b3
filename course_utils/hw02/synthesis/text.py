"""What the synthetic speakers say: sentences, word lists and random syllables.

Three kinds of material, drawn from one `numpy.random.Generator` so that a seed
fixes every word:

- **sentences** from a small grammar over a built-in vocabulary
  (``S → NP VP [PP] | S, CONJ S | question``);
- **word lists**, 4–12 vocabulary words separated by commas (read as a list,
  with a pause after each);
- **random syllables** written as eSpeak phoneme input ``[[...]]``: consonant–
  vowel–consonant syllables over the whole English inventory, so every phoneme,
  the rare ones (ZH, OY, UH) included, is heard about equally often. Natural text
  is skewed; syllables are even but never reduced, so a mix of both trains best.

The vocabulary is written for this course (no copied corpus) and chosen to
contain every English phoneme several times.
"""
import functools

import numpy as np

NOUNS = """boy girl child woman man teacher doctor farmer singer sailor judge king queen father mother
brother sister friend neighbour dog cat horse bird fish mouse cow sheep goat duck frog bee
house garden kitchen window door table chair bed book letter picture paper pencil bottle
cup glass spoon knife plate apple orange cherry bread cheese butter sugar honey milk water
coffee juice soup salad pizza river mountain valley forest island beach ocean lake bridge road
village city station church school market shop office hospital library museum garage
car train ship plane bicycle engine wheel ball toy coin ring watch clock lamp mirror
morning evening night winter summer autumn spring weather storm rain snow wind cloud
voice noise music song story dream treasure pleasure measure vision decision television
oil point choice joy cook wood foot hook sugar pudding wool cushion bush
thought thing path mouth truth bath month theory author health""".split()
VERBS = """sees finds likes loves wants needs brings takes makes keeps holds pulls pushes
paints draws reads writes opens closes cleans washes fixes builds buys sells carries catches
watches chooses enjoys joins avoids measures visits remembers forgets answers follows
throws thanks teaches reaches touches""".split()
INTRANSITIVE = """sleeps laughs sings runs walks waits jumps swims dances smiles shouts arrives
leaves returns works plays rests cooks listens""".split()
ADJECTIVES = """big small old young new red blue green yellow brown black white happy angry
quiet loud quick slow warm cold hot cool soft hard smooth rough tall short long round
bright dark clean dirty heavy light empty full cheap rich poor busy lazy tired hungry
strange usual beautiful careful wonderful famous pleasant thirsty""".split()
ADVERBS = """quickly slowly quietly loudly happily sadly carefully often never always
sometimes today yesterday together again already early late""".split()
PREPOSITIONS = "in on under over near behind beside across through into from with without after before".split()
DETERMINERS = "the a this that every some my your his her our their one".split()
NAMES = """John Mary Peter Susan George Judith Charles Joyce Arthur Ruth Oliver Sophie Thomas
Vivian Hugo Zoe Roger Nina Victor Julia""".split()
NUMBERS = "two three four five six seven eight nine ten eleven twelve twenty hundred".split()
CONJUNCTIONS = ["and", "but", "because", "while", "so"]
QUESTIONS = ["why does", "when does", "where does", "how often does", "does"]

# eSpeak English mnemonics for random syllables (without stress marks).
ONSETS = "p b t d k g f v T D s z S Z h tS dZ m n l r w j".split()
CODAS = "p b t d k g f v T D s z S Z tS dZ m n N l".split()
VOWELS = "a A: 0 O: V E eI aI aU OI oU I i: U u: 3: @".split()


def noun_phrase(rng):
    """A determiner and an optional adjective before a noun, or a name, or a number and a plural."""
    roll = rng.random()
    if roll < 0.15:
        return str(rng.choice(NAMES))
    if roll < 0.25:
        return f"{rng.choice(NUMBERS)} {rng.choice(NOUNS)}s"
    adjective = f"{rng.choice(ADJECTIVES)} " if rng.random() < 0.5 else ""
    return f"{rng.choice(DETERMINERS)} {adjective}{rng.choice(NOUNS)}"


def clause(rng):
    """Subject, verb (with an object when transitive), optional adverb and prepositional phrase."""
    words = [noun_phrase(rng)]
    if rng.random() < 0.7:
        words += [str(rng.choice(VERBS)), noun_phrase(rng)]
    else:
        words.append(str(rng.choice(INTRANSITIVE)))
    if rng.random() < 0.3:
        words.append(str(rng.choice(ADVERBS)))
    if rng.random() < 0.5:
        words += [str(rng.choice(PREPOSITIONS)), noun_phrase(rng)]
    return " ".join(words)


def sentence(rng):
    """One sentence: a statement, two clauses joined by a conjunction, or a question."""
    roll = rng.random()
    if roll < 0.6:
        text = clause(rng) + "."
    elif roll < 0.85:
        text = f"{clause(rng)}, {rng.choice(CONJUNCTIONS)} {clause(rng)}."
    else:
        verb = str(rng.choice(INTRANSITIVE))[:-1]
        text = f"{rng.choice(QUESTIONS)} {noun_phrase(rng)} {verb}?"
    return text[0].upper() + text[1:]


def word_list(rng):
    """4–12 vocabulary words read as a list."""
    pool = NOUNS + VERBS + ADJECTIVES + NAMES
    text = ", ".join(str(rng.choice(pool)) for _ in range(int(rng.integers(4, 13)))) + "."
    return text[0].upper() + text[1:]


def syllables(rng):
    """3–14 random syllables as eSpeak phoneme input, e.g. ``[[b'aItS mOI 'Zu:n]]``, in 1–3 syllable words."""
    words, n_left = [], int(rng.integers(3, 15))
    while n_left > 0:
        size = min(n_left, int(rng.integers(1, 4)))
        stressed = int(rng.integers(size))
        word = ""
        for i in range(size):
            onset, vowel, coda = _syllable(rng)
            word += onset + ("'" if i == stressed else "") + vowel + coda
        words.append(word)
        n_left -= size
    return "[[" + " ".join(words) + "]]"


def utterance_text(rng, syllable_fraction=0.4, word_list_fraction=0.2):
    """One utterance: random syllables with probability `syllable_fraction`, a word list with
    `word_list_fraction`, otherwise one or two sentences."""
    roll = rng.random()
    if roll < syllable_fraction:
        return syllables(rng)
    if roll < syllable_fraction + word_list_fraction:
        return word_list(rng)
    return " ".join(sentence(rng) for _ in range(int(rng.integers(1, 3))))


def with_prosody(rng, text, variation):
    """`text` as eSpeak SSML whose speaking rate and pitch change from one group of 1–4 words to the next, as
    a speaker speeds up, slows down, rises and falls within a sentence: each group's rate is 2^N(0, variation²)
    of the voice's and its pitch shifts by N(0, (40·variation)²) percent. ``[[...]]`` syllables are grouped
    the same way, each group in brackets of its own."""
    syllables = text.startswith("[[")
    words = text[2:-2].split() if syllables else text.split()
    groups, i = [], 0
    while i < len(words):
        size = int(rng.integers(1, 5))
        chunk = " ".join(words[i:i + size])
        rate = 100 * 2 ** rng.normal(0, variation)
        pitch = rng.normal(0, 40 * variation)
        chunk = f"[[{chunk}]]" if syllables else chunk
        groups.append(f'<prosody rate="{rate:.0f}%" pitch="{pitch:+.0f}%">{chunk}</prosody>')
        i += size
    return "<speak>" + " ".join(groups) + "</speak>"


# Pseudo-words: random syllables that recur as words do, with reduced vowels labelled as the lexicon says.

def _syllable(rng, after_vowel=False):
    """(onset, vowel, coda); after a syllable that ends in its vowel, always with an onset: two vowels side by side
    would read as one (``a`` + ``I`` as ``aI``), and differently once one of them is reduced."""
    onset = str(rng.choice(ONSETS)) if after_vowel or rng.random() < 0.85 else ""
    coda = str(rng.choice(CODAS)) if rng.random() < 0.5 else ""
    return onset, str(rng.choice(VOWELS)), coda


PSEUDO_LEXICON_VERSION = 2   # 2: a syllable after a vowel-final one always has an onset


@functools.lru_cache(maxsize=8)
def pseudo_lexicon(seed, size):
    """`size` pseudo-words of 1–3 syllables (the same for the same `seed`): each a tuple of syllables
    (onset, vowel, coda, stressed), exactly one of them stressed. A corpus's words come from one lexicon, so each
    recurs, as real words do, and a vowel's label can follow from the word around it."""
    rng = np.random.default_rng([seed, 2, size])
    lexicon = []
    for _ in range(size):
        count = int(rng.integers(1, 4))
        stressed = int(rng.integers(count))
        word = []
        for i in range(count):
            word.append(_syllable(rng, after_vowel=bool(word) and not word[-1][2]) + (i == stressed,))
        lexicon.append(tuple(word))
    return tuple(lexicon)


def pseudo_word_text(rng, lexicon, reduction):
    """(said, meant): 2–8 words of `lexicon` (drawn with Zipf's law, p(rank r) ∝ 1/r, as words occur in text), as
    eSpeak phoneme input ``[[...]]``. In `said` each unstressed vowel is spoken as a schwa ``@`` with probability
    `reduction`, as speakers reduce unstressed syllables; `meant` keeps the lexicon's vowels, which is what a
    forced aligner labels (it knows the words, not how they were said)."""
    weights = 1.0 / np.arange(1, len(lexicon) + 1)
    picks = rng.choice(len(lexicon), size=int(rng.integers(2, 9)), p=weights / weights.sum())
    said, meant = [], []
    for index in picks:
        said_word = meant_word = ""
        for onset, vowel, coda, stressed in lexicon[index]:
            mark = "'" if stressed else ""
            reduced = "@" if not stressed and rng.random() < reduction else vowel
            said_word += onset + mark + reduced + coda
            meant_word += onset + mark + vowel + coda
        said.append(said_word)
        meant.append(meant_word)
    return "[[" + " ".join(said) + "]]", "[[" + " ".join(meant) + "]]"


def syllable_mnemonics(text):
    """The eSpeak mnemonics of ``[[...]]`` syllable input in order, stress marks dropped:
    ``"[[b'aItS mOI]]"`` → ``["b", "aI", "tS", "m", "OI"]``."""
    keys = sorted(set(ONSETS) | set(CODAS) | set(VOWELS), key=len, reverse=True)
    out = []
    for word in text.strip()[2:-2].replace("'", "").split():
        i = 0
        while i < len(word):
            key = next((k for k in keys if word.startswith(k, i)), None)
            if key is None:
                raise ValueError(f"{word[i:]!r} in {text!r} is no mnemonic of text.ONSETS/CODAS/VOWELS")
            out.append(key)
            i += len(key)
    return out

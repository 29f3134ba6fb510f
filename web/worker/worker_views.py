"""The views' rows (forward only: no random generator, nothing changes): the next character, attention, Step
through gpt(); `ms` is their time in the worker."""
import time

import microgpt as mg
from worker_session import session, SETTING, error_answer, to_json


def next_token(prefix, temperature_text):
    """The model's probability for every next character after a prefix, at a temperature (forward only)."""
    start = time.perf_counter()
    t = session.trainer
    try:
        temperature = SETTING['temperature'].parse(temperature_text)
        probs = t.next_token_probs(str(prefix), temperature)
    except mg.MicrogptError as e:
        return error_answer(e)
    labels = list(t.tokenizer.uchars) + ['end']  # BOS, last, ends the word
    return to_json({'generation': session.generation, 'step': t.step_count, 'prefix': str(prefix), 'temperature': temperature,
                  'probs': [[label, p] for label, p in zip(labels, probs)],
                  'ms': (time.perf_counter() - start) * 1000})


def attention(word):
    """Every attention weight of the current model over a word (its first block_size positions)."""
    start = time.perf_counter()
    t = session.trainer
    word = str(word)
    try:
        maps = t.attention_maps(word)
    except mg.MicrogptError as e:
        return error_answer(e)
    n = len(maps[0][0])
    return to_json({'generation': session.generation, 'step': t.step_count, 'tokens': ['BOS'] + list(word)[:n - 1],
                  'maps': [[[[round(w, 4) for w in row] for row in head] for head in layer] for layer in maps],
                  'truncated': len(word) + 1 > n, 'ms': (time.perf_counter() - start) * 1000})

def step_through(prefix, position, temperature_text):
    """gpt() at one position of the prefix, line by line, with the variables each line changed (forward only)."""
    start = time.perf_counter()
    t = session.trainer
    try:
        temperature = SETTING['temperature'].parse(temperature_text)
        trace = t.step_through(str(prefix), int(position), temperature)
    except mg.MicrogptError as e:
        return error_answer(e)
    del trace['first_line']  # the page marks the lines the steps name
    return to_json(dict(trace, generation=session.generation, step=t.step_count, prefix=str(prefix),
                        labels=list(t.tokenizer.uchars) + ['end'], ms=(time.perf_counter() - start) * 1000))

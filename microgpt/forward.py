"""What a run shows without changing anything, not even the random generator: the validation loss,
next-token probabilities, attention maps and Step through (the Trainer's forward-only methods, trainer.py).
"""
import gc
import math
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError, MicrogptError
from . import model
from .tracing import number, starts_block, trace_call

# Validation (config.validation): the last tenth of the shuffled documents is held out, never trained on. Every
# VALIDATION_EVERY steps the validation loss is the average loss of the first VALIDATION_SAMPLE of them, forward
# only. Measured by benchmarks/validation.py (names, default model): an evaluation costs about 7 steps' time on
# the original engine (a forward pass costs about a third of a step there) and 4 to 5 on the efficient engine,
# so every 100 steps it adds 4 to 7% to training; 40 documents every 100 steps would add 12 to 30%.
HOLD_OUT = 10  # one document in HOLD_OUT
VALIDATION_EVERY = 100
VALIDATION_SAMPLE = 20


def split_documents(config, docs):
    """The shuffled documents as (trained on, held out): all and none unless config.validation, else the last
    tenth is held out. Raises ConfigError (naming validation) when that would leave either part empty."""
    if not config.validation:
        return docs, []
    held = len(docs) // HOLD_OUT
    if held == 0:
        raise ConfigError('validation', f'holding out 10% needs at least {HOLD_OUT} documents; '
                                        f'the dataset has {len(docs)}')
    return docs[:-held], docs[-held:]


@contextmanager
def gc_paused():
    """A step allocates a large graph with no reference cycles: reference counting frees it all,
    so the cyclic garbage collector only costs time while it runs."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class ForwardOnly:
    """The Trainer's forward-only methods (it holds config, tokenizer, engine, code and held_out)."""

    # -- forward only: nothing changes, not even the random generator -------------------
    def loss(self, doc):
        """A document's average loss under the current model, with no update: for validation. (A model that
        gives the document's next character a probability of 0 raises ValueError, as math.log(0) does.)"""
        with gc_paused():
            return self._run(self.engine.loss, self.tokenizer.encode(doc))

    def validation_due(self):
        """True when the run holds documents out and has reached a step where its validation loss is due
        (step 0, every VALIDATION_EVERY steps, and the last step)."""
        return bool(self.held_out) and (self.step_count % VALIDATION_EVERY == 0 or self.done)

    def validation_loss(self):
        """The average loss of a fixed sample of held-out documents, forward only (inf if the model gives one
        of them a probability of 0)."""
        sample = self.held_out[:VALIDATION_SAMPLE]
        try:
            return sum(self.loss(doc) for doc in sample) / len(sample)
        except MicrogptError:  # edited code that failed (a CodeError): say where
            raise
        except ValueError:  # math.log(0)
            return math.inf

    def next_token_probs(self, prefix, temperature=None):
        """The model's probability for every next token after a prefix (BOS first), at a temperature:
        forward only, no random generator. A list of vocab_size floats, BOS (the end of the word) last."""
        temperature = self.config.temperature if temperature is None else temperature
        self.config.replace(temperature=temperature)  # validates it
        tokens = self._encode(prefix)[:-1]
        limit = self.config.block_size
        if len(tokens) > limit:
            raise MicrogptError(f'the prefix has {len(prefix)} characters; with block size {limit} the model '
                                f'predicts after at most {limit - 1}')
        keys, values = self._run(self.engine.new_cache)
        with gc_paused():
            for pos_id, token_id in enumerate(tokens):
                probs = self._run(self.engine.next_token_probs, token_id, pos_id, keys, values, temperature)
        return probs

    def _encode(self, text):
        """Tokens of a text typed by a user: a character outside the vocabulary is a MicrogptError naming it."""
        unknown = [ch for ch in dict.fromkeys(text) if ch not in self.tokenizer.uchars]
        if unknown:
            shown = ', '.join(repr(ch) for ch in unknown[:5])
            raise MicrogptError(f'{shown} {"is" if len(unknown) == 1 else "are"} not in the vocabulary of this '
                                f'dataset ({"".join(self.tokenizer.uchars)[:60]})')
        return self.tokenizer.encode(text)

    def attention_maps(self, doc):
        """Every attention weight of a forward pass over a document: maps[layer][head][t][s] (engine.py)."""
        with gc_paused():
            return self._run(self.engine.attention_maps, self._encode(doc))

    def step_through(self, prefix, position, temperature=None):
        """gpt() at one position of BOS + prefix, line by line, with the variables each line changed (tracing.py).
        Forward only: no random generator, nothing changes. The efficient engine's weights are stepped through
        the original gpt() (both compute the same numbers); edited code steps through its own gpt()."""
        temperature = self.config.temperature if temperature is None else temperature
        self.config.replace(temperature=temperature)  # validates it
        tokens = self._encode(prefix)[:-1]
        limit = min(len(tokens), self.config.block_size)
        if not 0 <= position < limit:
            raise MicrogptError(f'position must be between 0 and {limit - 1} (BOS, then one for each character'
                                f'{" that fits the block size" if len(tokens) > limit else ""}), got {position}')
        with gc_paused():
            return self._run(self._step_through, tokens, position, temperature)

    def _step_through(self, tokens, position, temperature):
        module = model if self.code is None else self.code.model
        engine = self.engine
        if not isinstance(engine, module.OriginalEngine):  # the efficient engine: the same weights as Values
            engine = module.OriginalEngine(self.config, engine.weights())
        cfg, keys, values = self.config, *engine.new_cache()
        args = lambda pos_id: (tokens[pos_id], pos_id, keys, values, engine.state_dict, cfg.n_layer, cfg.n_head)
        for pos_id in range(position):  # the earlier positions fill the key/value cache, untraced
            module.gpt(*args(pos_id))
        logits, recorder = trace_call(module.gpt, args(position), skip=('state_dict',))
        probs = module.softmax([logit / temperature for logit in logits])
        lines = (self.code.sources['microgpt/model.py'] if self.code else Path(model.__file__).read_text()).splitlines()
        return {'steps': recorder.steps, 'blocks': [i for i, step in enumerate(recorder.steps)
                                                     if starts_block(lines, step)], 'steps_left_out': recorder.left_out, 'numbers_left_out': any(
                    'omitted' in v for step in recorder.steps for v in step['changed']),
                'first_line': module.gpt.__code__.co_firstlineno, 'position': position,
                'token': 'BOS' if position == 0 else self.tokenizer.uchars[tokens[position]],
                'logits': [number(logit.data) for logit in logits], 'probs': [number(p.data) for p in probs],
                'temperature': temperature, 'engine': self.engine_name, 'edited': self.code is not None}

    def _run(self, function, *args):
        """function(*args); with edited code, what it raises is a CodeError saying where."""
        return function(*args) if self.code is None else self.code.run(function, *args)

"""What an engine is: the one place that says what the Trainer asks of OriginalEngine (model.py) and
EfficientEngine (efficient.py).

An engine holds a model's weights and Adam's two moment buffers, and does the maths: a training step,
next-token probabilities for sampling, and two forward-only passes (a document's loss, its attention
weights). Everything else (documents, tokenizer, random generator, learning rate schedule, saved state)
belongs to the Trainer. Two engines given the same weights and Adam state must give the same floats, bit
for bit, from every method (tests/engine_cases.py checks it).

Shapes used below:
  weights   {name: rows}, each row a list of floats; the names and shapes of model.weight_shapes(),
            in that order.
  tokens    a document as token ids, BOS on both sides (Tokenizer.encode). A pass over a document reads
            positions 0 .. n-1, n = min(block_size, len(tokens) - 1): the token at each position predicts
            the next one.
  m, v      Adam's first and second moments: one float per parameter, the weights flattened row after row
            in the order above.
"""
from typing import Protocol


class NonFiniteLoss(ArithmeticError):
    """Raised by train_step when the document's loss is inf or nan: the step stopped before its backward
    pass, nothing changed. The Trainer turns it into a TrainingError."""

    def __init__(self, loss):
        self.loss = loss
        super().__init__(f'the loss is {loss!r}')


class Engine(Protocol):
    name: str
    """'original' or 'efficient': what the CLI's --engine and a saved state call it."""

    def __init__(self, config, weights):
        """An engine for a model with these weights (copied), and Adam's moments at zero.

        config: a microgpt.Config. The engine reads only the model's shape (n_layer, n_head, n_embd,
        block_size) and Adam's beta1, beta2, eps; never num_steps, learning_rate, temperature or seed,
        so those may change during a run without telling the engine."""

    def weights(self) -> dict:
        """A copy of the current weights. (Weights go in only through the constructor.)"""

    def adam_state(self) -> tuple:
        """A copy of Adam's moments, (m, v)."""

    def load_adam_state(self, m, v):
        """Replace Adam's moments (a restored run): two lists of one float per parameter."""

    def train_step(self, tokens, step, lr_t) -> float:
        """Forward the document, backward, Adam update with learning rate lr_t; returns the loss.

        step: the 0-based number of this update (Adam's bias correction uses it). Either the whole
        update happens or none of it: a loss that is inf or nan raises NonFiniteLoss before the backward
        pass, and arithmetic that fails (ValueError, OverflowError, ZeroDivisionError) leaves the weights
        and moments unchanged."""

    def new_cache(self) -> tuple:
        """An empty key/value cache, (keys, values), for next_token_probs."""

    def next_token_probs(self, token_id, pos_id, keys, values, temperature) -> list:
        """The probability of each next token (vocab_size floats) at a temperature, after token_id at
        position pos_id; appends this position's keys and values to the cache. For sampling."""

    def loss(self, tokens) -> float:
        """The document's average loss, as train_step would report it, without changing anything (no
        gradient, no update): for validation."""

    def attention_maps(self, tokens) -> list:
        """Every attention weight of a forward pass over the document, without changing anything.

        maps[layer][head][t][s]: how much position t attends to position s, for s = 0 .. t (each row
        sums to about 1; a causal model has no s > t, so the rows grow: row t has t + 1 floats).
        Positions as for the loss: t = 0 .. n-1, n = min(block_size, len(tokens) - 1)."""

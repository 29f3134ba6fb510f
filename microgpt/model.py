"""The original engine: the gist's GPT, built from one `Value` per number.

Follow GPT-2, blessed among the GPTs, with minor differences: layernorm -> rmsnorm, no biases, GeLU -> ReLU.
"""
import math

from .autograd import Value
from .engine import NonFiniteLoss
from .tracing import collect


def matrix(rng, nout, nin, std=0.08):
    """A nout x nin matrix of random numbers (floats; each engine wraps them its own way)."""
    return [[rng.gauss(0, std) for _ in range(nin)] for _ in range(nout)]


def init_weights(config, vocab_size, rng):
    """Initialize the parameters, to store the knowledge of the model: the same matrices in the same order as the gist."""
    n_embd = config.n_embd
    weights = {'wte': matrix(rng, vocab_size, n_embd), 'wpe': matrix(rng, config.block_size, n_embd),
               'lm_head': matrix(rng, vocab_size, n_embd)}
    for i in range(config.n_layer):
        weights[f'layer{i}.attn_wq'] = matrix(rng, n_embd, n_embd)
        weights[f'layer{i}.attn_wk'] = matrix(rng, n_embd, n_embd)
        weights[f'layer{i}.attn_wv'] = matrix(rng, n_embd, n_embd)
        weights[f'layer{i}.attn_wo'] = matrix(rng, n_embd, n_embd)
        weights[f'layer{i}.mlp_fc1'] = matrix(rng, 4 * n_embd, n_embd)
        weights[f'layer{i}.mlp_fc2'] = matrix(rng, n_embd, 4 * n_embd)
    return weights


def weight_shapes(config, vocab_size):
    """Name -> (rows, columns) of every weight matrix, in the order of init_weights."""
    n_embd = config.n_embd
    shapes = {'wte': (vocab_size, n_embd), 'wpe': (config.block_size, n_embd), 'lm_head': (vocab_size, n_embd)}
    for i in range(config.n_layer):
        for name in ('attn_wq', 'attn_wk', 'attn_wv', 'attn_wo'):
            shapes[f'layer{i}.{name}'] = (n_embd, n_embd)
        shapes[f'layer{i}.mlp_fc1'] = (4 * n_embd, n_embd)
        shapes[f'layer{i}.mlp_fc2'] = (n_embd, 4 * n_embd)
    return shapes


def count_params(config, vocab_size):
    return sum(rows * cols for rows, cols in weight_shapes(config, vocab_size).values())


# Define the model architecture: a stateless function mapping token sequence and parameters to logits over what comes next.
def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]


def softmax(logits):
    max_val = max(val.data for val in logits)
    exps = [(val - max_val).exp() for val in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def gpt(token_id, pos_id, keys, values, state_dict, n_layer, n_head):
    head_dim = len(state_dict['wte'][0]) // n_head
    tok_emb = state_dict['wte'][token_id]  # token embedding
    pos_emb = state_dict['wpe'][pos_id]  # position embedding
    x = [t + p for t, p in zip(tok_emb, pos_emb)]  # joint token and position embedding
    x = rmsnorm(x)
    for li in range(n_layer):
        # 1) Multi-head attention block
        x_residual = x
        x = rmsnorm(x)
        q = linear(x, state_dict[f'layer{li}.attn_wq'])
        k = linear(x, state_dict[f'layer{li}.attn_wk'])
        v = linear(x, state_dict[f'layer{li}.attn_wv'])
        keys[li].append(k)
        values[li].append(v)
        x_attn = []
        for h in range(n_head):
            hs = h * head_dim
            q_h = q[hs:hs+head_dim]
            k_h = [ki[hs:hs+head_dim] for ki in keys[li]]
            v_h = [vi[hs:hs+head_dim] for vi in values[li]]
            attn_logits = [sum(q_h[j] * k_h[t][j] for j in range(head_dim)) / head_dim**0.5 for t in range(len(k_h))]
            attn_weights = softmax(attn_logits)
            head_out = [sum(attn_weights[t] * v_h[t][j] for t in range(len(v_h))) for j in range(head_dim)]
            x_attn.extend(head_out)
        x = linear(x_attn, state_dict[f'layer{li}.attn_wo'])
        x = [a + b for a, b in zip(x, x_residual)]
        # 2) MLP block
        x_residual = x
        x = rmsnorm(x)
        x = linear(x, state_dict[f'layer{li}.mlp_fc1'])
        x = [xi.relu() for xi in x]
        x = linear(x, state_dict[f'layer{li}.mlp_fc2'])
        x = [a + b for a, b in zip(x, x_residual)]
    logits = linear(x, state_dict['lm_head'])
    return logits


class OriginalEngine:
    """The engine of engine.py, exactly as the gist computes: one Value per number."""
    name = 'original'

    def __init__(self, config, weights):
        self.config = config
        self.state_dict = {name: [[Value(x) for x in row] for row in mat] for name, mat in weights.items()}
        self.params = [p for mat in self.state_dict.values() for row in mat for p in row]  # flatten params into a single list[Value]
        # Let there be Adam, the blessed optimizer and its buffers
        self.m = [0.0] * len(self.params)  # first moment buffer
        self.v = [0.0] * len(self.params)  # second moment buffer

    def weights(self):
        return {name: [[p.data for p in row] for row in mat] for name, mat in self.state_dict.items()}

    def adam_state(self):
        return list(self.m), list(self.v)

    def load_adam_state(self, m, v):
        self.m, self.v = list(m), list(v)

    def new_cache(self):
        return [[] for _ in range(self.config.n_layer)], [[] for _ in range(self.config.n_layer)]

    def _forward(self, tokens):
        """Forward the token sequence through the model, building up the computation graph all the way to the loss."""
        cfg = self.config
        n = min(cfg.block_size, len(tokens) - 1)
        keys, values = self.new_cache()
        losses = []
        for pos_id in range(n):
            token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
            logits = gpt(token_id, pos_id, keys, values, self.state_dict, cfg.n_layer, cfg.n_head)
            probs = softmax(logits)
            loss_t = -probs[target_id].log()
            losses.append(loss_t)
        return (1 / n) * sum(losses)  # final average loss over the document sequence. May yours be low.

    def train_step(self, tokens, step, lr_t):
        """Forward one document, backward, Adam update; returns the loss (a float)."""
        loss = self._forward(tokens)
        if not math.isfinite(loss.data):
            raise NonFiniteLoss(loss.data)  # before anything changes
        # Backward the loss, calculating the gradients with respect to all model parameters.
        loss.backward()
        try:
            self._adam(step, lr_t)
        finally:
            for p in self.params:
                p.grad = 0
        return loss.data

    def _adam(self, step, lr_t):
        """Adam optimizer update: update the model parameters based on the corresponding gradients.
        Every new number is computed before any is stored, so an overflow (g ** 2) changes nothing."""
        cfg = self.config
        beta1, beta2, eps_adam = cfg.beta1, cfg.beta2, cfg.eps
        m, v = list(self.m), list(self.v)
        data = []
        for i, p in enumerate(self.params):
            m[i] = beta1 * m[i] + (1 - beta1) * p.grad
            v[i] = beta2 * v[i] + (1 - beta2) * p.grad ** 2
            m_hat = m[i] / (1 - beta1 ** (step + 1))
            v_hat = v[i] / (1 - beta2 ** (step + 1))
            data.append(p.data - lr_t * m_hat / (v_hat ** 0.5 + eps_adam))
        for p, x in zip(self.params, data):
            p.data = x
        self.m, self.v = m, v

    def next_token_probs(self, token_id, pos_id, keys, values, temperature):
        """Probabilities of the next token at a temperature, for sampling."""
        cfg = self.config
        logits = gpt(token_id, pos_id, keys, values, self.state_dict, cfg.n_layer, cfg.n_head)
        probs = softmax([l / temperature for l in logits])
        return [p.data for p in probs]

    def loss(self, tokens):
        """The document's loss, forward only: the graph is built, never walked backward."""
        return self._forward(tokens).data

    def attention_maps(self, tokens):
        """maps[layer][head][t][s], as engine.py describes: every attn_weights gpt() computes, read as it runs
        (tracing.py), position by position, layer by layer, head by head."""
        n_layer, n_head = self.config.n_layer, self.config.n_head
        maps = [[[] for _ in range(n_head)] for _ in range(n_layer)]
        found = collect(gpt, ['attn_weights'], lambda: self._forward(tokens))[1]['attn_weights']
        for i, attn_weights in enumerate(found):  # in the order gpt() makes them: position, layer, head
            li, h = divmod(i % (n_layer * n_head), n_head)
            maps[li][h].append([w.data for w in attn_weights])
        return maps

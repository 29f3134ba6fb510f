"""The efficient engine: the gist's GPT on whole vectors, bit for bit the same as the original engine.

The original engine builds one `Value` per number and lets `Value.backward` apply the chain rule node by
node. This engine keeps plain lists of floats and writes each backward pass by hand (embedding sum,
rmsnorm, q/k/v projections, causal multi-head attention over the KV cache, softmax + cross-entropy,
ReLU MLP, residuals, lm_head), then runs Adam row by row. It is about 18x faster natively and 16x in the
page (benchmarks/), and it gives exactly the same bits: every loss, every weight after every step, every
sample. This file reads like the original's gpt() and training step; each piece, and the rules that keep
its bits, is in pieces.py, and the sums and Adam written out as generated code in written_out.py.
"""
import math
from itertools import chain
from operator import add, itemgetter

from .engine import NonFiniteLoss
from .pieces import (attention, attention_backward, flatten, input_grad, lm_head_input_grad, loss_backward,
                     mlp_backward, mlp_forward, mlp_weight_grads, MlpWeights, qkv_finish_order, rmsnorm, rmsnorm_backward,
                     softmax_parts, transpose_rev)
from .written_out import ZERO, adam_rows, matvec, weight_grad


class _Layer:
    """What one layer's backward needs from its forward at one position."""
    __slots__ = ('x_in', 'rms1', 'xn', 'q', 'attn', 'x_attn', 'x_mid', 'rms2', 'xn2', 'h', 'active')


class EfficientEngine:
    """The engine of engine.py on lists of floats, bit for bit OriginalEngine's."""
    name = 'efficient'

    def __init__(self, config, weights):
        self.config = config
        self._w = {name: [list(row) for row in mat] for name, mat in weights.items()}
        self._shapes = [(name, len(mat), len(mat[0])) for name, mat in weights.items()]
        # Let there be Adam, the blessed optimizer and its buffers (row by row, as the weights)
        self._m = {name: [[0.0] * cols for _ in range(rows)] for name, rows, cols in self._shapes}  # first moment
        self._v = {name: [[0.0] * cols for _ in range(rows)] for name, rows, cols in self._shapes}  # second moment
        self._sample_flat = None  # _prepare()'s answer for the sample being drawn
        # the rows of q, k and v in the order their input gradient sums them, later positions and position 0
        orders = [qkv_finish_order(config.n_embd, config.n_head, first)[::-1] for first in (False, True)]
        self._qkv_orders = [(order, itemgetter(*order)) for order in orders]

    def weights(self):
        return {name: [list(row) for row in mat] for name, mat in self._w.items()}

    def adam_state(self):
        """m and v flat, in OriginalEngine.params order."""
        return tuple(flatten(flatten(moments.values())) for moments in (self._m, self._v))

    def load_adam_state(self, m, v):
        self._m, self._v = self._by_rows(m), self._by_rows(v)

    def _by_rows(self, flat):
        """Numbers given flat, in OriginalEngine.params order, as each matrix's rows ({name: rows})."""
        matrices, offset = {}, 0
        for name, rows, cols in self._shapes:
            matrices[name] = [list(flat[offset + i * cols:offset + (i + 1) * cols]) for i in range(rows)]
            offset += rows * cols
        return matrices

    def new_cache(self):
        """Keys and values so far, per layer: each position's vector appended to one flat list."""
        n_layer = self.config.n_layer
        return [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]

    # -- forward ---------------------------------------------------------------------------------
    def _prepare(self):
        """What the forward pass reads from the weights, laid out for it: the matrices of matvec() flat
        (q, k and v stacked), and the MLPs' (MlpWeights). Made once per step and once per sample."""
        w = self._w
        flat = {'lm_head': flatten(w['lm_head'])}
        for li in range(self.config.n_layer):
            p = f'layer{li}.'
            flat[p + 'qkv'] = flatten(chain(w[p + 'attn_wq'], w[p + 'attn_wk'], w[p + 'attn_wv']))
            flat[p + 'attn_wo'] = flatten(w[p + 'attn_wo'])
            flat[p + 'mlp'] = MlpWeights(w[p + 'mlp_fc1'], w[p + 'mlp_fc2'])
        return flat

    def _forward(self, token_id, pos_id, keys, values, flat):
        """The gpt() function at one position: returns (logits, embedding, its rmsnorm, the layers)."""
        cfg, w = self.config, self._w
        n_head = cfg.n_head
        n_embd = len(w['wte'][0])
        hd = n_embd // n_head
        inv_sqrt_hd = (hd ** 0.5) ** -1
        emb = list(map(add, w['wte'][token_id], w['wpe'][pos_id]))  # joint token and position embedding
        x, *rms0 = rmsnorm(emb)
        layers = []
        for li in range(cfg.n_layer):
            L = _Layer()
            L.x_in = x
            L.xn, *L.rms1 = rmsnorm(x)
            qkv = matvec(flat[f'layer{li}.qkv'], L.xn)
            L.q, k, v = qkv[:n_embd], qkv[n_embd:2 * n_embd], qkv[2 * n_embd:]
            keys[li] += k
            values[li] += v
            L.x_attn, L.attn = attention(L.q, keys[li], values[li], n_head, inv_sqrt_hd)
            L.x_mid = list(map(add, matvec(flat[f'layer{li}.attn_wo'], L.x_attn), x))
            L.xn2, *L.rms2 = rmsnorm(L.x_mid)
            mlp_out, L.h, L.active = mlp_forward(L.xn2, flat[f'layer{li}.mlp'])
            x = list(map(add, mlp_out, L.x_mid))
            layers.append(L)
        return matvec(flat['lm_head'], x), x, emb, rms0, layers

    def next_token_probs(self, token_id, pos_id, keys, values, temperature):
        """Probabilities of the next token at a temperature, for sampling."""
        if pos_id == 0:  # a new sample: the weights may have changed since the last one
            self._sample_flat = self._prepare()
        logits = self._forward(token_id, pos_id, keys, values, self._sample_flat)[0]
        exps, _, inv = softmax_parts([z * temperature ** -1 for z in logits])  # `l / temperature`
        return [e * inv for e in exps]

    # -- forward only ----------------------------------------------------------------------------
    def loss(self, tokens):
        """The document's loss, forward only."""
        return self._forward_document(tokens)[0]

    def attention_maps(self, tokens):
        """maps[layer][head][t][s], as engine.py describes: each weight e * total**-1, as attention() makes it."""
        n_head, n_layer = self.config.n_head, self.config.n_layer
        positions = self._forward_document(tokens)[1]
        maps = [[[] for _ in range(n_head)] for _ in range(n_layer)]
        for *_, layers in positions:
            for li, L in enumerate(layers):
                exps, _, invs, _ = L.attn  # in (s, h) order
                for h in range(n_head):
                    maps[li][h].append([e * invs[h] for e in exps[h::n_head]])
        return maps

    # -- training --------------------------------------------------------------------------------
    def train_step(self, tokens, step, lr_t):
        """Forward one document, backward, Adam update; returns the loss (a float)."""
        loss, *forward = self._forward_document(tokens)
        if not math.isfinite(loss):
            raise NonFiniteLoss(loss)  # before anything changes
        grads = self._backward(tokens, *forward)
        self._adam(grads, step, lr_t)
        return loss

    def loss_and_grads(self, tokens):
        """The step's loss and the gradient of every weight (name -> rows), before any update."""
        loss, *forward = self._forward_document(tokens)
        grads = self._backward(tokens, *forward)
        return loss, {name: [g[i * cols:(i + 1) * cols] for i in range(rows)]
                      for (name, rows, cols), g in zip(self._shapes, grads)}

    def _forward_document(self, tokens):
        """The step's loss, and what its backward needs: (loss, positions, keys, values, flat)."""
        cfg = self.config
        n = min(cfg.block_size, len(tokens) - 1)
        keys, values = self.new_cache()
        positions, losses = [], []
        flat = self._prepare()
        for pos_id in range(n):
            logits, *fwd = self._forward(tokens[pos_id], pos_id, keys, values, flat)
            exps, total, inv = softmax_parts(logits)
            target = tokens[pos_id + 1]
            losses.append(math.log(exps[target] * inv) * -1)  # -probs[target].log()
            positions.append(((exps, total, inv), *fwd))
        loss = sum(losses, ZERO) * (1 / n)  # (1 / n) * sum(losses)
        return loss, positions, keys, values, flat

    def _backward(self, tokens, positions, keys, values, flat):
        cfg, w = self.config, self._w
        n_embd, n_head, n_layer = len(w['wte'][0]), cfg.n_head, cfg.n_layer
        hd = n_embd // n_head
        inv_sqrt_hd = (hd ** 0.5) ** -1
        n = len(positions)
        # views of the weights for the input gradients: columns, rows in backward order
        cols_rev = {name: flatten(transpose_rev(mat)) for name, mat in w.items() if name.endswith(('wo', 'lm_head'))}
        mlp_taken = [[] for _ in range(n_layer)]  # what each MLP's weight gradients need, position by position
        qkv = []  # per layer, for later positions and for position 0: (pick the rows, the columns)
        for li in range(n_layer):
            stacked = w[f'layer{li}.attn_wq'] + w[f'layer{li}.attn_wk'] + w[f'layer{li}.attn_wv']
            qkv.append([(pick, flatten(zip(*[stacked[i] for i in order]))) for order, pick in self._qkv_orders])
        dkeys = [[0.0] * (n * n_embd) for _ in range(n_layer)]  # flat, like the cache
        dvalues = [[0.0] * (n * n_embd) for _ in range(n_layer)]
        # output gradients and inputs per position of the layers whose weight gradients come at the end
        # (q, k and v share their input: their rows are stacked, as in _prepare)
        seen = {name: ([], []) for name in ['lm_head'] + [f'layer{li}.{m}' for li in range(n_layer)
                                                          for m in ('qkv', 'attn_wo')]}

        def record(name, g, x):
            seen[name][0].append(g)
            seen[name][1].append(x)

        dwte = [[0.0] * n_embd for _ in w['wte']]
        dwpe = [[0.0] * n_embd for _ in w['wpe']]
        for t in reversed(range(n)):  # positions last to first
            (exps, total, inv), x, emb, rms0, layers = positions[t]
            target = tokens[t + 1]
            dlogits = loss_backward(exps, total, inv, target, n)
            record('lm_head', dlogits, x)
            dx = lm_head_input_grad(cols_rev['lm_head'], w['lm_head'][target], target, dlogits)
            for li in reversed(range(n_layer)):
                L, p = layers[li], f'layer{li}.'
                # MLP block: x_out = fc2(relu(fc1(rmsnorm(x_mid)))) + x_mid
                dxn2 = mlp_backward(L.xn2, L.h, L.active, dx, flat[p + 'mlp'], mlp_taken[li])
                dx_mid = rmsnorm_backward(L.x_mid, *L.rms2, dxn2, dx)
                # attention block: x_mid = wo(attention(q, k, v of rmsnorm(x_in))) + x_in
                record(p + 'attn_wo', dx_mid, L.x_attn)
                dx_attn = input_grad(cols_rev[p + 'attn_wo'], dx_mid)
                size = (t + 1) * n_embd  # the cache up to this position
                dq = attention_backward(L.q, keys[li][:size], values[li][:size], L.attn, dx_attn, n_head,
                                        inv_sqrt_hd, dkeys[li], dvalues[li])
                dk = dkeys[li][t * n_embd:size]  # complete: later positions are done
                dv = dvalues[li][t * n_embd:size]
                dqkv = dq + dk + dv
                record(p + 'qkv', dqkv, L.xn)
                pick, qkv_cols = qkv[li][t == 0]
                dxn = matvec(qkv_cols, list(pick(dqkv)))
                dx = rmsnorm_backward(L.x_in, *L.rms1, dxn, dx_mid)
            demb = rmsnorm_backward(emb, *rms0, dx)
            dwte[tokens[t]] = list(map(add, dwte[tokens[t]], demb))  # emb = wte[token] + wpe[pos]
            dwpe[t] = list(map(add, dwpe[t], demb))
        grads = {'wte': flatten(dwte), 'wpe': flatten(dwpe)}
        for name in seen:
            grads[name] = weight_grad(*seen[name])
        square = n_embd * n_embd  # the size of wq, wk and wv
        for li in range(n_layer):
            p = f'layer{li}.'
            dqkv = grads.pop(p + 'qkv')
            grads[p + 'attn_wq'], grads[p + 'attn_wk'], grads[p + 'attn_wv'] = (
                dqkv[:square], dqkv[square:2 * square], dqkv[2 * square:])
            dw1, dw2_cols = mlp_weight_grads(mlp_taken[li], len(w[p + 'mlp_fc1']), n_embd)
            grads[p + 'mlp_fc1'] = flatten(dw1)
            grads[p + 'mlp_fc2'] = flatten(zip(*dw2_cols))
        return [grads[name] for name in w]  # in the weights' order

    def _adam(self, grads, step, lr_t):
        """Adam, each expression as in OriginalEngine._adam, one matrix at a time (written_out.adam_rows):
        every new number first, then store them all, so an overflow (g ** 2) changes nothing.
        grads: each matrix's gradient flat, in the weights' order."""
        cfg = self.config
        beta1, beta2 = cfg.beta1, cfg.beta2
        constants = (beta1, 1 - beta1, beta2, 1 - beta2, lr_t, 1 - beta1 ** (step + 1), 1 - beta2 ** (step + 1),
                     cfg.eps)
        new = [adam_rows(cols)(self._w[name], self._m[name], self._v[name], zip(*[iter(g)] * cols), *constants)
               for (name, rows, cols), g in zip(self._shapes, grads)]
        for (name, _, _), (rows, m, v) in zip(self._shapes, new):
            self._w[name], self._m[name], self._v[name] = rows, m, v

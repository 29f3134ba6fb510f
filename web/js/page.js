// The browser APIs the MicroPython side reaches through `js`: the uPlot loss chart, pasted text as a Blob, and
// saving a text file. The training worker's deadlines and restart are in trainer_workers.js; everything else
// (controls, training, errors) is in the Python modules and worker.py.
"use strict";

(() => {
  // The chart's data, aligned on X (consecutive step numbers): each run's points by step, null where none.
  //   L: every step's loss (faint), M: its moving average, V: validation losses (every K steps), U: the loss of
  //   guessing uniformly, ln(vocabulary size), P: the previous run's moving average (the overlay after a Reset).
  const X = [], L = [], M = [], V = [], U = [], P = [];
  const ARRAYS = [X, L, M, V, U, P];
  const BETA = 0.98;  // exponential moving average, bias-corrected, for the smoothed line
  const MIN_REDRAW_MS = 200;  // a long run has many points: redraw a few times a second at most
  let count = 0, ema = 0, maxStep = 1, plot = null, pending = false, lastDraw = 0;
  let uniform = null, vocab = 0, validation = "", previous = null, previousLabel = "", shape = "";
  let broken = "";  // why the chart cannot be drawn ("" while it can): the page trains without it

  // the index of a step in X, adding empty slots as needed
  function at(step) {
    if (!X.length) X.push(step), L.push(null), M.push(null), V.push(null), U.push(uniform), P.push(null);
    if (step < X[0]) {  // rare (a validation loss at step 0 after a loaded run's points): rebuild
      const n = X[0] - step;
      for (const a of ARRAYS) {
        const old = a.splice(0, a.length);
        for (let i = 0; i < n; i++) a.push(a === X ? step + i : a === U ? uniform : null);
        for (const v of old) a.push(v);
      }
    }
    while (X[X.length - 1] < step) X.push(X[X.length - 1] + 1), L.push(null), M.push(null), V.push(null), U.push(uniform), P.push(null);
    return step - X[0];
  }

  function series() {
    const out = [
      { label: "step" },
      { label: "loss", stroke: "rgba(100, 116, 139, 0.35)", width: 1, points: { show: false } },
      { label: "smoothed", stroke: "#4338ca", width: 2.5, points: { show: false } },
    ];
    if (validation) {
      out.push({ label: validation, stroke: "#ea580c", width: 2, spanGaps: true, points: { show: true, size: 6, fill: "#ea580c" } });
      out.push({ label: `guessing uniformly: ln ${vocab} = ${uniform.toFixed(2)}`,
                 stroke: "#64748b", width: 1.5, dash: [6, 5], points: { show: false } });
    }
    if (previous) out.push({ label: previousLabel, stroke: "rgba(190, 24, 93, 0.6)", width: 2, points: { show: false } });
    return out;
  }

  function data() {
    const out = [X, L, M];
    if (validation) out.push(V, U);
    if (previous) out.push(P);
    return out;
  }

  // the chart's text alternative; the legend says the rest (a label naming settings here would also match
  // their fields' names: the dataset, the engine, the seed...)
  function describe() {
    const lines = ["the loss of every training step (faint) and its moving average (bold)"];
    if (validation) lines.push("the validation loss (orange points) and the loss of guessing uniformly (dashed)");
    if (previous) lines.push("the previous run's moving average (faint red; what differed is in the legend)");
    return "Loss chart: " + lines.join("; ");
  }

  // (re)create the plot when its lines change (a new model, an overlay cleared)
  function create() {
    const el = document.getElementById("chart");
    if (!el) return;
    const key = JSON.stringify([validation, uniform, previousLabel, !!previous]);
    el.setAttribute("aria-label", describe());
    if (broken || (plot && key === shape)) return;
    if (plot) plot.destroy();
    plot = null;
    shape = key;
    const height = () => Math.max(220, Math.min(320, Math.round(el.clientWidth * 0.42)));
    try {
      if (typeof uPlot !== "function") throw new Error("the chart library (uPlot) did not load");
      plot = makePlot(el, height);
    } catch (err) {  // e.g. uPlot throws "RangeError: invalid language tag: C" in WebKit under LANG=C
      broken = err && err.message ? `${err.name || "Error"}: ${err.message}` : String(err);
      const note = document.createElement("p");
      note.className = "chart-error";
      note.textContent = `The loss chart could not be drawn (${broken}). Everything else works: training, ` +
        "the loss and figures above, samples, Download log.";
      el.textContent = "";
      el.appendChild(note);
      el.setAttribute("aria-label", "Loss chart: not drawn");
      return;
    }
    if (!el.dataset.observed) {
      el.dataset.observed = "1";
      new ResizeObserver(() => plot && plot.setSize({ width: el.clientWidth, height: height() })).observe(el);
    }
  }

  function makePlot(el, height) {
    return new uPlot({
      width: el.clientWidth, height: height(),
      scales: { x: { time: false, range: () => [0, xMax()] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.05)] } },
      axes: [
        { label: "step", stroke: "#475569", grid: { stroke: "#eef2f7" } },
        { label: "loss", stroke: "#475569", grid: { stroke: "#eef2f7" }, size: 48 },
      ],
      series: series(),
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
    }, data(), el);
  }

  // the whole run on the x axis; a long one (over 5,000 steps) widens as it goes, so early steps stay visible
  function xMax() {
    if (maxStep <= 5000) return maxStep;
    const last = X.length ? X[X.length - 1] : 0;
    return Math.min(maxStep, Math.max(5000, Math.ceil(last * 1.5)));
  }

  function redraw() {
    pending = false;
    lastDraw = performance.now();
    if (plot) plot.setData(data());
  }

  function scheduleRedraw() {
    if (pending) return;
    pending = true;
    const wait = Math.max(0, MIN_REDRAW_MS - (performance.now() - lastDraw));
    setTimeout(() => requestAnimationFrame(redraw), wait);
  }

  window.lossChart = {
    // start over (a new model); `total` is the number of steps planned, for the x axis. optionsJson (optional):
    // {keep: the run so far becomes the overlay, label: the overlay's legend ('' or absent: no overlay),
    //  vocab: the vocabulary size, validation: the validation line's legend ('' or absent: none)}
    reset(total, optionsJson) {
      const o = optionsJson ? JSON.parse(optionsJson) : {};
      if (o.keep && count) previous = X.map((x, i) => [x, M[i]]).filter((p) => p[1] !== null);
      if (!o.label) previous = null;
      previousLabel = o.label || "";
      for (const a of ARRAYS) a.length = 0;
      count = 0;
      ema = 0;
      vocab = o.vocab || 0;
      uniform = vocab ? Math.log(vocab) : null;
      validation = o.validation && uniform !== null ? o.validation : "";
      maxStep = Math.max(1, total);
      if (previous) {
        for (const [x, y] of previous) P[at(x)] = y;
        maxStep = Math.max(maxStep, previous[previous.length - 1][0]);
      }
      create();
      redraw();
    },
    clearOverlay() {
      previous = null;
      previousLabel = "";
      for (let i = 0; i < P.length; i++) P[i] = null;
      create();
      redraw();
    },
    hasOverlay() { return previous !== null; },
    overlaySize() { return P.filter((y) => y !== null).length; },  // the previous run's points drawn
    setTotal(total) {
      maxStep = Math.max(1, total, previous ? previous[previous.length - 1][0] : 1);
      if (plot) plot.redraw(true, false);
    },
    size() { return count; },  // the points drawn (tests/test_keep.py: the chart came back)
    broken() { return broken; },  // why the chart cannot be drawn, or ""
    legend() { return plot ? plot.series.slice(1).map((s) => s.label) : []; },  // the lines' labels, in order
    validationPoints() { return X.map((x, i) => [x, V[i]]).filter((p) => p[1] !== null); },
    // losses of steps first, first+1, ... as a JSON array (redrawn at the next animation frame)
    append(first, lossesJson) {
      const values = JSON.parse(lossesJson);
      for (let i = 0; i < values.length; i++) {
        const loss = values[i], j = at(first + i);
        count++;
        L[j] = loss;
        ema = BETA * ema + (1 - BETA) * loss;
        M[j] = ema / (1 - Math.pow(BETA, count));
      }
      scheduleRedraw();
    },
    // validation losses, [[step, loss or null]] as JSON
    addValidation(pointsJson) {
      for (const [step, loss] of JSON.parse(pointsJson)) if (loss !== null) V[at(step)] = loss;
      scheduleRedraw();
    },
  };

  // Pasted text travels to the worker as uploads do, as a Blob (a blob: URL): it never becomes a MicroPython
  // string, which costs seconds and hundreds of MB a pasted MB. A large paste is not put in the box either
  // (laying out a million lines freezes the page): the box says what it holds.
  const LARGE_PASTE = 100000;  // characters
  let largePaste = null;
  function keepLargePastes(box) {
    const placeholder = box.placeholder;
    box.addEventListener("paste", (event) => {
      const text = event.clipboardData ? event.clipboardData.getData("text/plain") : "";
      if (text.length < LARGE_PASTE) return;
      event.preventDefault();
      largePaste = new Blob([text], { type: "text/plain" });
      box.value = "";
      box.placeholder = `Pasted ${(largePaste.size / 1e6).toFixed(1)} MB, kept out of this box: press "Use pasted text".`;
    });
    box.addEventListener("input", () => { largePaste = null; box.placeholder = placeholder; });
  }
  window.textBlob = (id) => {
    const box = document.getElementById(id);
    return largePaste && box.value === "" ? largePaste : new Blob([box.value], { type: "text/plain" });
  };
  document.addEventListener("DOMContentLoaded", () => keepLargePastes(document.getElementById("paste")));

  // Save a Blob, or text, as a file: the browser's download (no request leaves the page).
  window.saveBlob = (filename, blob) => {
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  };
  window.saveText = (filename, text, type) => window.saveBlob(filename, new Blob([text], { type: type || "text/plain" }));
})();

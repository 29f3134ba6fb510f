// The browser APIs the MicroPython side reaches through `js`: the uPlot loss chart, pasted text as a Blob, and
// saving a text file. Everything else (controls, training, errors) is in the Python modules and worker.py.
"use strict";

(() => {
  const steps = [], losses = [], smoothed = [];
  const BETA = 0.98;  // exponential moving average, bias-corrected, for the smoothed line
  const MIN_REDRAW_MS = 200;  // a long run has many points: redraw a few times a second at most
  let ema = 0, maxStep = 1, plot = null, pending = false, lastDraw = 0;

  function create() {
    const el = document.getElementById("chart");
    if (!el || plot) return;
    const height = () => Math.max(220, Math.min(320, Math.round(el.clientWidth * 0.42)));
    plot = new uPlot({
      width: el.clientWidth, height: height(),
      scales: { x: { time: false, range: () => [0, xMax()] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.05)] } },
      axes: [
        { label: "step", stroke: "#475569", grid: { stroke: "#eef2f7" } },
        { label: "loss", stroke: "#475569", grid: { stroke: "#eef2f7" }, size: 48 },
      ],
      series: [
        { label: "step" },
        { label: "loss", stroke: "rgba(100, 116, 139, 0.35)", width: 1, points: { show: false } },
        { label: "smoothed", stroke: "#4338ca", width: 2.5, points: { show: false } },
      ],
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
    }, [steps, losses, smoothed], el);
    new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: height() })).observe(el);
  }

  // the whole run on the x axis; a long one (over 5,000 steps) widens as it goes, so early steps stay visible
  function xMax() {
    if (maxStep <= 5000) return maxStep;
    const last = steps.length ? steps[steps.length - 1] : 0;
    return Math.min(maxStep, Math.max(5000, Math.ceil(last * 1.5)));
  }

  function redraw() {
    pending = false;
    lastDraw = performance.now();
    if (plot) plot.setData([steps, losses, smoothed]);
  }

  function scheduleRedraw() {
    if (pending) return;
    pending = true;
    const wait = Math.max(0, MIN_REDRAW_MS - (performance.now() - lastDraw));
    setTimeout(() => requestAnimationFrame(redraw), wait);
  }

  window.lossChart = {
    // start over (a new model); `total` is the number of steps planned, for the x axis
    reset(total) {
      steps.length = losses.length = smoothed.length = 0;
      ema = 0;
      maxStep = Math.max(1, total);
      create();
      redraw();
    },
    setTotal(total) {
      maxStep = Math.max(1, total);
      if (plot) plot.redraw(true, false);
    },
    size() { return steps.length; },  // the points drawn (tests/test_keep.py: the chart came back)
    // losses of steps first, first+1, ... as a JSON array (redrawn at the next animation frame)
    append(first, lossesJson) {
      const values = JSON.parse(lossesJson);
      for (let i = 0; i < values.length; i++) {
        const loss = values[i];
        steps.push(first + i);
        losses.push(loss);
        ema = BETA * ema + (1 - BETA) * loss;
        smoothed.push(ema / (1 - Math.pow(BETA, steps.length)));
      }
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

  // The training worker, watched. PyScript starts a worker for every <script type="py" worker> in the page:
  // a restart clones the first one under a new name. A call that does not answer by its deadline, or an
  // error event of the worker, means the worker is gone (crashed, out of memory, closed).
  window.trainerWorkers = {
    start(name) {
      const first = document.querySelector('script[type="py"][worker]');
      const script = document.createElement("script");
      for (const attr of first.attributes) script.setAttribute(attr.name, attr.value);
      script.setAttribute("name", name);
      document.body.appendChild(script);
    },
    gone: {},  // worker name -> a promise that fails when the worker reports an error, or is killed
    kills: {},  // worker name -> fail its `gone` promise (kill)
    watch(name, onError) {
      const script = document.querySelector(`script[name="${name}"]`);
      this.gone[name] = new Promise((_, reject) => {
        this.kills[name] = reject;
        if (script && script.xworker) script.xworker.addEventListener("error", () => {
          onError();
          reject(new Error("no answer: the worker crashed"));
        });
      });
      this.gone[name].catch(() => {});  // only calls under way care
    },
    stop(name) {
      const script = document.querySelector(`script[name="${name}"]`);
      if (script && script.xworker) script.xworker.terminate();
    },
    // terminate it now (the Code panel's Stop, a step past its limit): calls under way fail with `why`
    kill(name, why) {
      this.stop(name);
      if (this.kills[name]) this.kills[name](new Error(`no answer: ${why}`));
    },
    deadline(name, promise, ms) {
      let timer;
      const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("no answer")), ms); });
      return Promise.race([promise, late, this.gone[name]]).finally(() => clearTimeout(timer));
    },
  };

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

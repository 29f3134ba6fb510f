// Step through gpt() (stepper.py hands over the worker's trace as JSON): the lines gpt() ran for one position,
// the editor marking each (window.codeEditor.markStep), and the variables each line changed: a number as a
// number, a vector as a row of cells coloured by value (the number on hover), a list of vectors as a grid, a
// Value by its data. Back / Next / the slider / Run to next block / the arrow keys move through the steps here,
// in JavaScript: no call to the worker.
"use strict";

(() => {
  const FILE = "microgpt/model.py";
  const MAX_CELLS = 4096;  // cells drawn for one variable; the rest is named
  const T = { trace: null, at: 0 };
  const $ = (id) => document.getElementById(id);
  const fmt = (x) => (typeof x === "number" ? (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3)
    ? x.toExponential(3) : x.toFixed(4)) : String(x));
  const label = (token) => (token === "BOS" || token === "end" ? token : token === " " ? "␣" : token);

  // the colour of a value, against the largest magnitude shown with it: blue above zero, red below
  function colour(x, scale) {
    if (typeof x !== "number") return "#fde68a";  // inf or nan
    const a = Math.min(1, Math.abs(x) / (scale || 1));
    return x >= 0 ? `rgba(67, 56, 202, ${0.06 + 0.84 * a})` : `rgba(185, 28, 28, ${0.06 + 0.84 * a})`;
  }

  function flat(data) { return Array.isArray(data) ? data.flatMap(flat) : [data]; }

  function cellRow(values, scale, name, grads, names) {
    const row = document.createElement("div");
    row.className = "cells";
    values.forEach((x, i) => {
      const cell = document.createElement("span");
      cell.className = "cell";
      cell.style.background = colour(x, scale);
      cell.title = `${name}[${i}]${names ? " (" + names[i] + ")" : ""} = ${fmt(x)}` +
        (grads ? `, grad ${fmt(grads[i])}` : "");
      row.appendChild(cell);
    });
    return row;
  }

  // one variable: its name and size, then its value drawn by its kind
  function variable(v) {
    const box = document.createElement("div");
    box.className = "var";
    const head = document.createElement("div");
    head.className = "var-head";
    const name = document.createElement("code");
    name.textContent = v.name;
    const size = document.createElement("span");
    size.className = "var-size";
    const shape = v.shape || [];
    size.textContent = v.kind === "number" ? "" : v.kind === "text" ? "" : shape.join(" × ");
    head.append(name, size);
    box.appendChild(head);
    if (v.kind === "text") {
      const text = document.createElement("code");
      text.className = "var-text";
      text.textContent = v.text;
      box.appendChild(text);
    } else if (v.omitted !== undefined) {
      const note = document.createElement("p");
      note.className = "note";
      note.textContent = `${v.omitted.toLocaleString()} numbers, left out of the trace (it keeps the first 200,000)`;
      box.appendChild(note);
    } else if (v.kind === "number") {
      const text = document.createElement("span");
      text.className = "var-number";
      text.textContent = fmt(v.data) + (v.value ? ` (${v.value}.data)` : "") + (v.grad !== undefined ? `, grad ${fmt(v.grad)}` : "");
      box.appendChild(text);
    } else {
      const all = flat(v.data).filter((x) => typeof x === "number");
      const scale = Math.max(1e-12, ...all.map(Math.abs));
      const rows = v.kind === "vector" ? [v.data] : v.kind === "grid" ? v.data : v.data.flat();
      const gradRows = v.grad ? (v.kind === "vector" ? [v.grad] : v.kind === "grid" ? v.grad : v.grad.flat()) : null;
      let drawn = 0;
      rows.forEach((row, r) => {
        if (drawn >= MAX_CELLS) return;
        const rowName = v.kind === "vector" ? v.name : v.kind === "grid" ? `${v.name}[${r}]`
          : `${v.name}[${Math.floor(r / shape[1])}][${r % shape[1]}]`;
        box.appendChild(cellRow(row, scale, rowName, gradRows && gradRows[r], v.name === "logits" ? T.trace.labels : null));
        drawn += row.length;
      });
      if (drawn < all.length) {
        const more = document.createElement("p");
        more.className = "note";
        more.textContent = `… ${(all.length - drawn).toLocaleString()} more numbers (hover a cell for its value)`;
        box.appendChild(more);
      }
    }
    return box;
  }

  // layer and head at step i: the last li and h bound up to it
  function loopAt(i) {
    let li = null, h = null;
    for (let j = 0; j <= i; j++) {
      for (const v of T.trace.steps[j].changed) {
        if (v.name === "li") li = v.data;
        if (v.name === "h") h = v.data;
      }
    }
    return { li, h };
  }

  function probabilities() {
    const t = T.trace;
    const order = t.probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, 5);
    const box = document.createElement("div");
    box.className = "var";
    const head = document.createElement("p");
    head.className = "note";
    head.textContent = `softmax(logits / ${t.temperature}): the next-character probabilities (the Next character ` +
      `view's numbers). Most likely: ` + order.map(([p, i]) => `${label(t.labels[i])} ${(100 * p).toFixed(1)}%`).join(", ");
    const numbers = t.logits.filter((x) => typeof x === "number");
    box.append(cellRow(t.logits, Math.max(1e-12, ...numbers.map(Math.abs)), "logits", null, t.labels.map(label)),
               head, cellRow(t.probs, Math.max(...t.probs), "probs", null, t.labels.map(label)));
    return box;
  }

  function go(i) {
    const t = T.trace;
    if (!t) return;
    T.at = Math.max(0, Math.min(t.steps.length - 1, i));
    const step = t.steps[T.at];
    const last = T.at === t.steps.length - 1;
    if (window.codeEditor && window.codeEditor.ready()) window.codeEditor.markStep(FILE, step.line);
    $("stepper-slider").value = String(T.at);
    $("stepper-back").disabled = T.at === 0;
    $("stepper-next").disabled = last;
    $("stepper-block").disabled = !t.blocks.some((b) => b > T.at) && last;
    const { li, h } = loopAt(T.at);
    $("stepper-where").textContent = `Line ${step.line} of ${FILE}, step ${T.at + 1} of ${t.steps.length}` +
      (li !== null ? `, layer ${li + 1}` : "") + (h !== null ? `, head ${h + 1}` : "") +
      (step.changed.length ? "" : ": no variable changed");
    const vars = $("stepper-vars");
    vars.textContent = "";
    for (const v of step.changed) vars.appendChild(variable(v));
    if (last) vars.appendChild(probabilities());
  }

  function nextBlock() {
    const t = T.trace;
    const next = t.blocks.find((b) => b > T.at);
    go(next === undefined ? t.steps.length - 1 : next);
  }

  function load(answerJson) {
    T.trace = JSON.parse(answerJson);
    const slider = $("stepper-slider");
    slider.max = String(T.trace.steps.length - 1);
    $("stepper-view").hidden = false;
    go(0);
  }

  function clear() {
    T.trace = null;
    $("stepper-view").hidden = true;
    if (window.codeEditor && window.codeEditor.ready()) window.codeEditor.markStep(FILE, 0);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("stepper-back").addEventListener("click", () => go(T.at - 1));
    $("stepper-next").addEventListener("click", () => go(T.at + 1));
    $("stepper-block").addEventListener("click", nextBlock);
    $("stepper-slider").addEventListener("input", (e) => go(Number(e.target.value)));
    $("stepper-view").addEventListener("keydown", (e) => {
      if (e.target.id === "stepper-slider") return;  // the slider moves itself
      if (e.key === "ArrowRight") { go(T.at + 1); e.preventDefault(); }
      if (e.key === "ArrowLeft") { go(T.at - 1); e.preventDefault(); }
    });
  });

  window.stepper = { load, clear, go, at: () => T.at, trace: () => T.trace };
})();

// The views' drawing (next_token.py, attention.py hand their answers over as JSON): next-character bars as
// buttons named like "a: 12.3%" (clicking one adds its character to the Prefix field), and one heatmap per layer
// and head of attention weights, a canvas with a text alternative. Plain DOM and canvas, no library.
"use strict";

(() => {
  const shown = (ch) => (ch === " " ? "space" : ch);
  const percent = (p) => (p * 100 >= 0.1 || p === 0 ? (p * 100).toFixed(1) : "<0.1") + "%";

  function bars(id, probsJson) {
    const box = document.getElementById(id);
    const probs = JSON.parse(probsJson);  // [[character or "end", p]], the vocabulary's order, end last
    const top = Math.max(...probs.map((p) => p[1])) || 1;
    box.textContent = "";
    for (const [ch, p] of probs) {
      const end = ch === "end";
      const b = document.createElement("button");
      b.type = "button";
      b.className = "bar" + (end ? " end" : "");
      b.setAttribute("aria-label", `${shown(ch)}: ${percent(p)}`);
      b.title = end ? `end of the word: ${percent(p)}` : `${shown(ch)}: ${percent(p)} (click to add it)`;
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.height = `${Math.round((100 * p) / top)}%`;
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = end ? "end" : ch === " " ? "␣" : ch;
      b.append(fill, label);
      if (end) b.disabled = true;  // the word ends: nothing to add
      else b.addEventListener("click", () => {
        const field = document.getElementById("prefix");
        field.value += ch;
        field.dispatchEvent(new Event("input", { bubbles: true }));
      });
      box.appendChild(b);
    }
  }

  // maps[layer][head][t][s]: how much position t (input tokens[t]) attends to position s <= t
  function heatmaps(id, answerJson) {
    const { tokens, maps } = JSON.parse(answerJson);
    const box = document.getElementById(id);
    box.textContent = "";
    const n = tokens.length, cell = Math.max(8, Math.min(22, Math.floor(220 / n))), margin = 28;
    const names = tokens.map((t) => (t === "BOS" ? "BOS" : shown(t)));
    maps.forEach((layer, li) => layer.forEach((rows, h) => {
      const figure = document.createElement("figure");
      figure.className = "heatmap";
      const canvas = document.createElement("canvas");
      canvas.width = margin + n * cell;
      canvas.height = margin + n * cell;
      const ctx = canvas.getContext("2d");
      ctx.font = `${Math.min(12, cell)}px ui-monospace, monospace`;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillStyle = "#334155";
      names.forEach((name, i) => {
        const label = name === "BOS" ? "·" : name;  // BOS as a dot on the axes
        ctx.fillText(label, margin + i * cell + cell / 2, margin / 2);
        ctx.fillText(label, margin / 2, margin + i * cell + cell / 2);
      });
      const strongest = [];
      rows.forEach((row, t) => {
        let best = 0;
        row.forEach((w, s) => {
          ctx.fillStyle = `rgba(67, 56, 202, ${Math.max(0.03, w)})`;
          ctx.fillRect(margin + s * cell, margin + t * cell, cell - 1, cell - 1);
          if (w > row[best]) best = s;
        });
        strongest.push(`${names[t]} → ${names[best]} ${Math.round(row[best] * 100)}%`);
      });
      const title = `layer ${li + 1}, head ${h + 1}`;
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `${title}: each position attends most to: ${strongest.join(", ")}`);
      const caption = document.createElement("figcaption");
      caption.textContent = title;
      figure.append(canvas, caption);
      box.appendChild(figure);
    }));
  }

  window.views = { bars, heatmaps };
})();

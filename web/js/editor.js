// The Code panel's editor: CodeMirror 6 with Python highlighting, bundled by build.py (esbuild) into
// dist/vendor/editor/editor.js. The page's MicroPython (code_panel.py) drives it through window.codeEditor.
//
// One editor, one tab per file (the engine's files the worker sends). The editor lives in a shadow root: there
// CodeMirror puts its styles in adopted style sheets (the CSSOM), which the page's Content-Security-Policy
// (style-src 'self', no inline <style>) allows; in the document itself it would add <style> elements.
import { basicSetup, EditorView } from "codemirror";
import { python } from "@codemirror/lang-python";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { Compartment, EditorState, StateEffect, StateField } from "@codemirror/state";
import { Decoration } from "@codemirror/view";
import { tags as t } from "@lezer/highlight";

// A marked line of the editor: one effect to set it (a line number, 0: none), one field that draws it.
function lineMark(className) {
  const effect = StateEffect.define();
  const field = StateField.define({
    create: () => Decoration.none,
    update(marks, tr) {
      marks = marks.map(tr.changes);
      for (const e of tr.effects) {
        if (!e.is(effect)) continue;
        const n = e.value;
        marks = n >= 1 && n <= tr.state.doc.lines
          ? Decoration.set([Decoration.line({ class: className }).range(tr.state.doc.line(n).from)])
          : Decoration.none;
      }
      return marks;
    },
    provide: (f) => EditorView.decorations.from(f),
  });
  return [effect, field];
}

const [markLine, errorMark] = lineMark("cm-error-line");  // an error's line (code_panel.py)
const [stepLine, stepMark] = lineMark("cm-step-line");  // the line Step through is at (stepper.js)

const theme = EditorView.theme({
  "&": { fontSize: "13px", border: "1px solid #cbd5e1", borderRadius: "8px", backgroundColor: "#ffffff" },
  "&.cm-focused": { outline: "2px solid #4338ca", outlineOffset: "1px" },
  ".cm-scroller": { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
                    maxHeight: "460px", overflow: "auto" },
  ".cm-gutters": { backgroundColor: "#f8fafc", color: "#5b6b80", borderRight: "1px solid #e2e8f0" },
  ".cm-error-line": { backgroundColor: "#fee2e2", boxShadow: "inset 3px 0 0 #b91c1c" },
  ".cm-step-line": { backgroundColor: "#e0e7ff", boxShadow: "inset 3px 0 0 #4338ca" },
  "&.cm-readonly .cm-cursor": { display: "none" },
});

// Python's colours, each 4.5:1 or more on white (WCAG AA; CodeMirror's default style has lighter ones). Set
// here, the default style (basicSetup's fallback) is not used at all: other tokens are the text's colour.
const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.definitionKeyword, t.moduleKeyword, t.operatorKeyword, t.modifier],
    color: "#6d28d9" },
  { tag: [t.string, t.special(t.string)], color: "#a31515" },
  { tag: t.escape, color: "#9a3412" },
  { tag: [t.comment, t.lineComment], color: "#4b5563", fontStyle: "italic" },
  { tag: t.number, color: "#0f766e" },
  { tag: [t.bool, t.null, t.self], color: "#9a3412" },
  { tag: [t.function(t.definition(t.variableName)), t.definition(t.className)], color: "#1d4ed8", fontWeight: "600" },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], color: "#1e40af" },
  { tag: t.meta, color: "#4b5563" },
]);

const E = {
  view: null,
  tabs: null,
  files: [],  // [path] in the worker's order
  original: {},  // path -> the shipped text
  states: {},  // path -> EditorState (the text as edited)
  current: "",
  editable: false,
  mark: null,  // {path, line} of the error marked, or null
  listeners: [],  // called after any change of the text
  editableConf: new Compartment(),
  labelConf: new Compartment(),  // the content's accessible name (the file) and tabindex (read-only, it is focusable too)
};

function extensions(path) {
  return [
    basicSetup, python(), syntaxHighlighting(highlight), theme, errorMark, stepMark,
    E.editableConf.of([EditorState.readOnly.of(!E.editable), EditorView.editable.of(E.editable),
                       EditorView.editorAttributes.of({ class: E.editable ? "" : "cm-readonly" })]),
    E.labelConf.of(EditorView.contentAttributes.of({ "aria-label": path, tabindex: "0" })),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) for (const listener of E.listeners) listener();
    }),
  ];
}

function stateOf(path) {
  return path === E.current && E.view ? E.view.state : E.states[path];
}

function text(path) {
  return stateOf(path).doc.toString();
}

function show(path) {
  if (E.view && E.current) E.states[E.current] = E.view.state;
  E.current = path;
  E.view.setState(E.states[path]);
  for (const tab of E.tabs.children) tab.setAttribute("aria-selected", String(tab.dataset.path === path));
  if (E.mark && E.mark.path === path) putMark(E.mark.line);
}

function putMark(line) {
  const effects = [markLine.of(line)];
  if (line >= 1 && line <= E.view.state.doc.lines) {
    effects.push(EditorView.scrollIntoView(E.view.state.doc.line(line).from, { y: "center" }));
  }
  E.view.dispatch({ effects });
}

function makeTabs(host) {
  const tabs = document.createElement("div");
  tabs.className = "code-tabs";
  tabs.setAttribute("role", "tablist");
  tabs.setAttribute("aria-label", "Files");
  for (const path of E.files) {
    const tab = document.createElement("button");
    tab.type = "button";
    tab.className = "code-tab";
    tab.setAttribute("role", "tab");
    tab.dataset.path = path;
    tab.textContent = path;
    tab.addEventListener("click", () => show(path));
    tabs.appendChild(tab);
  }
  host.appendChild(tabs);
  return tabs;
}

window.codeEditor = {
  // the files, [{path, text}] as JSON: the shipped texts; the editor shows the first, read-only
  load(hostId, filesJson) {
    const files = JSON.parse(filesJson);
    const host = document.getElementById(hostId);
    E.files = files.map((f) => f.path);
    for (const f of files) {
      E.original[f.path] = f.text;
      E.states[f.path] = EditorState.create({ doc: f.text, extensions: extensions(f.path) });
    }
    E.tabs = makeTabs(host);
    const box = document.createElement("div");
    box.className = "code-box";
    host.appendChild(box);
    const shadow = box.attachShadow({ mode: "open" });
    E.view = new EditorView({ state: E.states[E.files[0]], root: shadow, parent: shadow });
    E.current = "";
    show(E.files[0]);
  },
  ready() { return E.view !== null; },
  show(path) { if (E.files.includes(path)) show(path); },
  shown() { return E.current; },
  setEditable(on) {
    E.editable = Boolean(on);
    const effect = E.editableConf.reconfigure([EditorState.readOnly.of(!E.editable), EditorView.editable.of(E.editable),
                                               EditorView.editorAttributes.of({ class: E.editable ? "" : "cm-readonly" })]);
    for (const path of E.files) {
      if (path === E.current) E.view.dispatch({ effects: effect });
      else E.states[path] = E.states[path].update({ effects: effect }).state;
    }
  },
  // {path: text} of every file as the editor holds it, as JSON
  texts() {
    const out = {};
    for (const path of E.files) out[path] = text(path);
    return JSON.stringify(out);
  },
  // the files that differ from the shipped ones, [path] as JSON
  changed() { return JSON.stringify(E.files.filter((path) => text(path) !== E.original[path])); },
  // put these texts ({path: text} as JSON; files not named: the shipped text) in the editor
  setTexts(json) {
    const texts = JSON.parse(json);
    for (const path of E.files) {
      const want = path in texts ? texts[path] : E.original[path];
      const state = stateOf(path);
      if (state.doc.toString() === want) continue;
      const tr = state.update({ changes: { from: 0, to: state.doc.length, insert: want }, effects: markLine.of(0) });
      if (path === E.current) E.view.dispatch(tr);
      else E.states[path] = tr.state;
    }
    if (E.mark && texts[E.mark.path] !== undefined) E.mark = null;
    for (const listener of E.listeners) listener();
  },
  // mark a line of a file (shows that file); line 0 or no path: clear the mark
  markError(path, line) {
    if (E.mark && E.mark.path !== E.current) E.states[E.mark.path] = stateOf(E.mark.path).update({ effects: markLine.of(0) }).state;
    if (E.mark && E.mark.path === E.current) E.view.dispatch({ effects: markLine.of(0) });
    E.mark = path && line ? { path, line } : null;
    if (E.mark) {
      if (E.current !== path && E.files.includes(path)) show(path);
      else putMark(line);
    }
  },
  marked() { return E.mark ? JSON.stringify(E.mark) : ""; },
  // Step through's line of a file (shows that file, scrolls to it); line 0: clear it
  markStep(path, line) {
    if (!E.files.includes(path)) return;
    if (E.current !== path) show(path);
    const effects = [stepLine.of(line)];
    if (line >= 1 && line <= E.view.state.doc.lines) {
      effects.push(EditorView.scrollIntoView(E.view.state.doc.line(line).from, { y: "nearest" }));
    }
    E.view.dispatch({ effects });
    E.step = line;
  },
  stepped() { return E.step || 0; },
  onChange(callback) { E.listeners.push(callback); },
  blob(text) { return new Blob([text], { type: "application/json" }); },  // for share.js's pack
};

// Run a Python script under Pyodide in Node.js, with the microgpt package that dist/ serves to the page.
//   node tests/pyodide_node.mjs DIST_DIR WORK_DIR SCRIPT.py [ARGS...]
// WORK_DIR is mounted at /work and is the working directory; the script runs as __main__ with
// sys.argv = ["SCRIPT.py", ...ARGS]; what it prints goes to this process's stdout and stderr.
import path from "node:path";
import { pathToFileURL } from "node:url";

const [distDir, workDir, script, ...args] = process.argv.slice(2);
if (!distDir || !workDir || !script) {
  console.error("usage: node tests/pyodide_node.mjs DIST_DIR WORK_DIR SCRIPT.py [ARGS...]");
  process.exit(2);
}
const dist = path.resolve(distDir);
const { loadPyodide } = await import(pathToFileURL(path.join(dist, "pyodide", "pyodide.mjs")).href);
const pyodide = await loadPyodide({
  indexURL: path.join(dist, "pyodide") + path.sep,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
pyodide.FS.mkdirTree("/work");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: path.resolve(workDir) }, "/work");
pyodide.FS.mkdirTree("/py");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: path.join(dist, "py") }, "/py");
pyodide.globals.set("_argv", pyodide.toPy([script, ...args]));
let status = 0;
try {
  await pyodide.runPythonAsync(`
import os, runpy, sys
os.chdir("/work")
sys.path.insert(0, "/py")
sys.argv = list(_argv)
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as e:
    _status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
else:
    _status = 0
`);
  status = pyodide.globals.get("_status");
} catch (err) {
  console.error(String(err));
  status = 1;
}
process.exit(status);

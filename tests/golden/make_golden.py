"""Regenerate the golden files tests/golden/<case>.json from the reference program.

    python tests/golden/make_golden.py            # every case in tests/reference.py CASES
    python tests/golden/make_golden.py default    # some of them

For each case it runs the reference (../shared/reference/microgpt_reference.py, or $MICROGPT_REFERENCE) in a
temporary folder whose input.txt is the case's word list, with only the hyperparameter lines changed
(random.seed, n_embd, n_head, n_layer, block_size, num_steps, temperature, learning_rate/beta1/beta2) plus one
added statement writing repr(loss.data) of each step to stderr (and, for the 'big' case, a raised recursion
limit): see tests/reference.py patch_reference. The cyclic garbage collector is off during the run (it changes
no number; it only made the 'big' case slow): see start_reference. It stores the stdout byte for byte, the full-precision losses,
the 20 samples and the platform it ran on (math.exp/log, ** and random.gauss may differ in the last bit on
another C library, so the tests compare exactly only on the same platform). For the 'big' case it also checks
that the reference without the raised recursion limit dies with RecursionError, and records that.
"""
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import reference as R  # noqa: E402  (tests/reference.py)


def make(names):
    ref = R.reference_path()
    if ref is None:
        sys.exit('make_golden: the reference is not found (set MICROGPT_REFERENCE)')
    source = ref.read_text(encoding='utf-8')
    with tempfile.TemporaryDirectory() as tmp:
        procs = {}
        for name in names:
            case = R.CASES[name]
            folder = Path(tmp) / name
            folder.mkdir()
            procs[name] = R.start_reference(case['config'], R.WORDS[case['words']], folder,
                                            case.get('recursion_limit'), source=source)
            if case.get('recursion_limit'):
                folder = Path(tmp) / (name + '-default-limit')
                folder.mkdir()
                procs[name + '-default-limit'] = R.start_reference(case['config'], R.WORDS[case['words']], folder,
                                                                   source=source)
        default_limit = {}
        for key, proc in procs.items():
            if key.endswith('-default-limit'):
                _, err = proc.communicate()
                died = proc.returncode != 0 and 'RecursionError' in err.decode('utf-8', 'replace')
                default_limit[key[:-len('-default-limit')]] = 'RecursionError' if died else 'ran'
        for name in names:
            case = R.CASES[name]
            stdout, losses = R.finish_reference(procs[name])
            samples = [line.split(': ', 1)[1] if ': ' in line else ''
                       for line in stdout.splitlines() if line.startswith('sample ')]
            assert len(losses) == case['config']['num_steps'] and len(samples) == 20
            gold = {
                'made_by': 'tests/golden/make_golden.py: the reference with only its hyperparameters changed, '
                           'plus repr(loss.data) of each step written to stderr',
                'reference': ref.name,
                'platform': R.platform_signature(),
                'python': sys.version.split()[0],
                'case': name,
                'words': case['words'],
                'config': case['config'],
                'recursion_limit': case.get('recursion_limit'),
                'losses': losses,
                'samples': samples,
                'stdout': stdout,
            }
            if name in default_limit:
                gold['reference_with_default_recursion_limit'] = default_limit[name]
            path = R.GOLDEN_DIR / f'{name}.json'
            path.write_text(json.dumps(gold, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
            print(f'wrote {path.relative_to(R.ROOT)}: {len(losses)} losses, last {losses[-1]!r}')


if __name__ == '__main__':
    make(sys.argv[1:] or list(R.CASES))

"""python -m microgpt: train on a text file and print what the gist prints."""
import argparse
import sys

from .config import SETTINGS, Config
from .data import read_documents
from . import state
from .errors import CodeConsentNeeded, MicrogptError
from .trainer import ENGINE_NAMES, ENGINES, LOG_HEADER, Trainer, format_log_row

class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser():
    p = Parser(prog='python -m microgpt',
               description='Train a tiny GPT on a text file (one document per line), then sample from it.')
    p.add_argument('--input', default='input.txt', help='text file, one document per line (default: input.txt)')
    for setting in SETTINGS:
        help = f'{setting.help} (default: {setting.default})'.replace('%', '%%')  # argparse formats help with %
        if setting.kind is bool:  # a flag without a value turns it on
            p.add_argument(setting.cli_flag, dest=setting.name, action='store_true', default=None, help=help)
        else:
            p.add_argument(setting.cli_flag, dest=setting.name, type=setting.kind,
                           metavar='N' if setting.kind is int else 'X', help=help)
    p.add_argument('--stop-at', type=int, metavar='N',
                   help='stop after step N (the learning rate still decays over all the steps): '
                        'with --save, a run to continue later with --load')
    p.add_argument('--samples', type=int, default=20, help='number of samples to print after training (default: 20)')
    p.add_argument('--engine', choices=ENGINE_NAMES, default='original',
                   help='; '.join(f'{name}: {what}' + (' (default)' if name == 'original' else '')
                                  for name, what in ENGINES.items()))
    p.add_argument('--save', metavar='PATH', help='write the state (JSON) after training')
    p.add_argument('--load', metavar='PATH', help='continue from a saved state (its settings and documents)')
    p.add_argument('--trust-code', action='store_true',
                   help='with --load: run the edited code the state carries (without it such a state is refused)')
    p.add_argument('--log', metavar='PATH', help='write a CSV of every step: step,loss,learning_rate '
                                                      '(with --load, the whole run: the saved steps first)')
    return p


def make_trainer(args):
    given = {s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name) is not None}
    if args.load:
        fixed = [s.cli_flag for s in SETTINGS if s.name in given and not s.keeps_model]
        if fixed:
            changeable = ' and '.join(s.cli_flag for s in SETTINGS if s.keeps_model)
            raise MicrogptError(f'{fixed[0]} cannot change when continuing with --load (only {changeable} can)')
        try:
            trainer = state.load(args.load, engine=args.engine, code_choice='trust' if args.trust_code else 'refuse')
        except CodeConsentNeeded as e:
            raise MicrogptError(f'{args.load} carries edited code ({", ".join(e.changed)}): it runs only with '
                                f'--trust-code') from None
        if trainer.code is not None:
            print(f'microgpt: continuing with the edited code saved in {args.load} '
                  f'({", ".join(trainer.code.changed)})', file=sys.stderr)
        trainer.keep_settings(**given)  # only settings that keep the model are left
        return trainer
    config = Config(**given).validate()
    docs = read_documents(args.input)
    return Trainer(config, docs, engine=args.engine)


def run(args, out):
    if args.samples < 0:
        raise MicrogptError(f'--samples must be 0 or more, got {args.samples}')
    trainer = make_trainer(args)
    cfg = trainer.config
    stop_at = cfg.num_steps if args.stop_at is None else args.stop_at
    if not trainer.step_count <= stop_at <= cfg.num_steps:
        raise MicrogptError(f'--stop-at must be between the steps done ({trainer.step_count}) '
                            f'and the total steps ({cfg.num_steps}), got {stop_at}')
    # the whole run's log: a loaded state's rows (when it kept them), then this run's; None when unknown
    rows = list(trainer.log) if trainer.log is not None else ([] if trainer.step_count == 0 else None)
    log = open(args.log, 'w', encoding='utf-8', newline='\n') if args.log else None
    try:
        out.write(f"num docs: {len(trainer.docs)}\n")
        if trainer.held_out:
            out.write(f"held out for validation: {len(trainer.held_out)}\n")
        out.write(f"vocab size: {trainer.vocab_size}\n")
        out.write(f"num params: {trainer.num_params}\n")
        if log:
            log.write(LOG_HEADER + '\n' + ''.join(row + '\n' for row in rows or ()))
        if trainer.validation_due() and trainer.step_count < stop_at:
            out.write(f"step {trainer.step_count:4d} / {cfg.num_steps:4d} | validation loss {trainer.validation_loss():.4f}\n")
        while trainer.step_count < stop_at:
            result = trainer.step()
            validation = f" | validation loss {trainer.validation_loss():.4f}" if trainer.validation_due() else ''
            out.write(f"step {result.step:4d} / {cfg.num_steps:4d} | loss {result.loss:.4f}{validation}\n")
            row = format_log_row(result)
            if rows is not None:
                rows.append(row)
            if log:
                log.write(row + '\n')
    finally:
        if log:
            log.close()
    if args.save:
        state.save(trainer, args.save, log=rows)
    out.write("\n--- inference (new, hallucinated names) ---\n")
    for i, sample in enumerate(trainer.sample(args.samples, cfg.temperature)):
        out.write(f"sample {i+1:2d}: {sample}\n")


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        run(args, sys.stdout)
    except UsageError as e:
        print(f'microgpt: {e} (see --help)', file=sys.stderr)
        return 2
    except MicrogptError as e:
        print(f'microgpt: {e}', file=sys.stderr)
        return 2
    except OSError as e:
        print(f'microgpt: {e.filename or ""}: {e.strerror}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('microgpt: interrupted', file=sys.stderr)
        return 130
    return 0

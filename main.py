"""The cdktf app's command line: it parses the arguments and dispatches; stacks/app.py runs the commands.

    python main.py [synth] [--allow-destroy] [--allow-repoint] [-c key=value ...]
    python main.py list | graph [--format mermaid|dot] | check [--json]   [-c key=value ...]
    python main.py new-layer <account>/<layer> [--dir FOLDER]
    python main.py --version

One subcommand each with its own flags and help (`python main.py synth --help`), as the Leverage CLI and Terraform
have them; `-c` and `--debug` go with any of them. `cdktf synth` runs `python3 main.py`, which is `synth`.
"""
from __future__ import annotations

import _signal  # the signal module's own import (its enums) would take longer than the rest of the start
import os
import sys

INTERRUPTED = "nothing was written (files a write had begun were restored)"
_SIGNAL_NAMES = {_signal.SIGINT: "SIGINT", _signal.SIGTERM: "SIGTERM", _signal.SIGHUP: "SIGHUP"}


def _ended_at_once(signum: int, _frame: object) -> None:
    """A signal while the command line's modules load: nothing has begun (no lock, no cache file, no temporary
    folder, no child), so the process ends now, in one line, where Python's defaults would print a traceback for
    Ctrl-C and nothing for SIGTERM."""
    try:
        os.write(2, f"error: interrupted ({_SIGNAL_NAMES[signum]}); {INTERRUPTED}\n".encode())
    except OSError:
        pass  # stderr is a closed pipe: the terminal is gone (SIGHUP)
    os._exit(128 + signum)


def _signals_not_ignored() -> list[int]:
    """The signals this process handles: not those it was started ignoring (`nohup` ignores SIGHUP, a shell without
    job control SIGINT for a command run with `&`), which stay ignored, as a program started so is expected to."""
    return [signum for signum in _SIGNAL_NAMES if _signal.getsignal(signum) is not _signal.SIG_IGN]


def _signals_end_the_process_at_once() -> None:
    for signum in _signals_not_ignored():
        _signal.signal(signum, _ended_at_once)


if __name__ == "__main__":  # `python main.py`: from its first act, before the imports below
    _signals_end_the_process_at_once()

import argparse  # noqa: E402
import gc  # noqa: E402
from pathlib import Path  # noqa: E402

APP_ROOT = Path(__file__).resolve().parent


def settings_file() -> Path:
    """cdktf.json: this checkout's, or (installed as a dependency) the one in the working folder, as cdktf runs it."""
    own = APP_ROOT / "cdktf.json"
    # What stands there, file or not, is this checkout's (a folder there is refused, not passed over).
    return own if own.exists() or own.is_symlink() else Path.cwd() / "cdktf.json"


CDKTF_JSON = settings_file()
EXIT_ERROR = 2
COMMANDS = {
    "synth": "write the layers into the Leverage project (the default)",
    "list": "the generated layers in apply order: folder, backend key, what each reads",
    "graph": "the layers and what each reads, as a diagram",
    "check": "compare the committed layers with a fresh synth and say what synth would refuse; write nothing: "
             "exit 0 no drift, 1 drift, 2 error",
    "new-layer": "a starter layer of your own and its test, registered in cdktf.json",
}
# Flags of one command: given to another, they are refused with the command they belong to.
COMMAND_FLAGS = {"--json": "check", "--format": "graph", "--allow-destroy": "synth", "--allow-repoint": "synth",
                 "--dir": "new-layer"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, like every other error
        _refuse(message, self.prog.split()[-1] if " " in self.prog else None)


def _refuse(message: str, command: str | None) -> None:
    from leverage.errors import UserError

    raise UserError(message, fix=f"see `python main.py {command + ' ' if command else ''}--help`")


def version() -> str:
    """The installed distribution's version, or (in a checkout) pyproject.toml's."""
    from importlib import metadata

    try:
        return metadata.version("leverage-cdktf")
    except metadata.PackageNotFoundError:
        import tomllib

        try:
            return tomllib.loads((APP_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
        except (OSError, ValueError, KeyError):
            return "unknown (neither installed nor a checkout)"


class _Version(argparse.Action):
    """--version, read only when asked for."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
        print(f"leverage-cdktf {version()}")
        parser.exit()


def _common(parser: argparse.ArgumentParser, top: bool) -> None:
    """-c and --debug, before the command or after it (`main.py -c k=v check`, `main.py check -c k=v`)."""
    parser.add_argument("-c", "--context", action="append", default=[], dest="context_before" if top else "context",
                        metavar="KEY=VALUE", help="override a setting of cdktf.json's context for this run (repeatable)")
    parser.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="show the traceback behind an error line")


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="main.py", description="Generate Leverage layers from cdktf stacks.")
    top.add_argument("--version", action=_Version)
    _common(top, top=True)
    commands = top.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub = {name: commands.add_parser(name, help=text, description=text) for name, text in COMMANDS.items()}
    for command in sub.values():
        _common(command, top=False)
    sub["synth"].add_argument("--allow-destroy", action="store_true",
                              help="write even when applying would destroy or replace a resource that holds data, or "
                                   "destroy and create one under the same name")
    sub["synth"].add_argument("--allow-repoint", action="store_true",
                              help="write even when applying would point live resources elsewhere (a remote state that "
                                   "reads another layer, a provider in another region, a delivery to another folder)")
    sub["graph"].add_argument("--format", choices=("mermaid", "dot"), default="mermaid",
                              help="Mermaid (GitHub renders it, the default) or Graphviz DOT")
    sub["check"].add_argument("--json", action="store_true", help="the findings as JSON, for CI annotations")
    sub["new-layer"].add_argument("target", nargs="?", metavar="ACCOUNT/LAYER", help="where the layer goes")
    sub["new-layer"].add_argument("--dir", metavar="FOLDER", help="the folder of the layer module and its test, "
                                  "outside the app's packages (default: layers/ in the Leverage project)")
    return top


def parse_args(argv: list[str]) -> argparse.Namespace:
    top = parser()
    if not any(item in COMMANDS for item in argv) and not {"-h", "--help", "--version"} & set(argv):
        argv = ["synth", *argv]  # `python main.py [flags]` is `synth`, as `cdktf synth` runs it
    known, unknown = top.parse_known_args(argv)
    command = known.command
    for item in unknown:
        flag = item.split("=", 1)[0]
        if flag in COMMAND_FLAGS and COMMAND_FLAGS[flag] != command:
            _refuse(f"{flag} applies to `{COMMAND_FLAGS[flag]}` only, not to `{command}`", command)
        if not item.startswith("-") and command != "new-layer":
            _refuse(f"{command} takes no ACCOUNT/LAYER or --dir", command)
    if unknown:
        _refuse(f"unrecognized arguments: {' '.join(unknown)}", command)
    known.context = [*known.context_before, *getattr(known, "context", [])]
    return known


def options(args: argparse.Namespace):  # -> stacks.app.Options (imported lazily: the input is checked first)
    from stacks.app import Options

    return Options(command=args.command, context=tuple(args.context or ()),
                   allow_destroy=getattr(args, "allow_destroy", False), allow_repoint=getattr(args, "allow_repoint", False),
                   as_json=getattr(args, "json", False), diagram_format=getattr(args, "format", "mermaid"),
                   target=getattr(args, "target", None), folder=getattr(args, "dir", None))


def main(argv: list[str] | None = None, *, process_ends: bool = False) -> int:
    """One run: its exit code. `process_ends`: the process ends with it (`command_line`), so signals are ignored
    from the run's end on, not given back to the handlers before it (tests call main())."""
    from user_cache.bytecode import keep_bytecode

    keep_bytecode()  # before the app's modules are imported
    from leverage import interrupts

    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    # A run creates some hundred thousand objects in a second or two (the engine's and the provider's classes, the
    # stacks) and keeps them to the end: the cyclic collector's passes over them cost about a seventh of its CPU
    # and free next to nothing (measured: same peak memory). Off for the run, back on after (tests call main()).
    collecting = gc.isenabled()
    gc.disable()
    try:
        with interrupts.handled(process_ends=process_ends):
            return _main(argv, debug)
    except KeyboardInterrupt as exc:  # in the instant between the run's end and its handlers' removal
        if debug:
            raise
        return _report_interrupt(exc)
    finally:
        if collecting:
            gc.enable()


def command_line() -> None:
    """`python main.py` and the installed `leverage-cdktf` command; it ends the process. Until the run's own handlers
    are in place, a signal unwinds as Ctrl-C does (the bytecode cache's writes clean up after themselves) and is
    one line here."""
    for signum in _signals_not_ignored():
        _signal.signal(signum, _raise_keyboard_interrupt)
    try:
        code = main(process_ends=True)
    except KeyboardInterrupt as exc:
        for signum in _SIGNAL_NAMES:  # the run is over: as after one that ran (leverage.interrupts.handled)
            _signal.signal(signum, _signal.SIG_IGN)
        code = _report_interrupt(exc)
    sys.exit(code)


def _raise_keyboard_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signum)


def _main(argv: list[str], debug: bool) -> int:
    from leverage import interrupts
    from leverage.errors import UserError

    try:
        try:
            args = parse_args(argv)
        except SystemExit as done:  # --help, --version: printed, and done
            return int(done.code or 0)
        from stacks.app import run

        return run(options(args), CDKTF_JSON)
    except UserError as exc:
        if debug:
            raise
        interrupts.write_line(f"error: {exc.message}")
        return EXIT_ERROR
    except BaseException as exc:  # a signal, or what a signal broke on its way (a pipe to a dead child)
        interrupted = interrupts.as_interrupt(exc)
        if interrupted is None or debug or isinstance(exc, SystemExit):
            raise
        return _report_interrupt(interrupted)


def _report_interrupt(exc: KeyboardInterrupt) -> int:
    from leverage import interrupts

    interrupted = interrupts.as_interrupt(exc)
    # A write in progress has been rolled back on its way out; one that was committed settled the run, which a
    # signal then no longer interrupts.
    interrupts.write_line(f"error: interrupted ({interrupted.name}); {INTERRUPTED}")
    return interrupted.exit_code


if __name__ == "__main__":
    command_line()

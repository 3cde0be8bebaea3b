#!/usr/bin/env python3
"""Install or uninstall Revoice for DaVinci Resolve and Premiere Pro (stdlib only, Python 3.11+).

    python3 revoice_install.py [install] [--prefix DIR] [--system] [--dry-run] [--platform linux|macos|windows]
                               [--source DIR|WHEEL] [--extras ui] [--no-deps | --offline-wheels DIR
                               | --deps-from-venv VENV] [--python EXE] [--no-autostart | --no-start]
    python3 revoice_install.py uninstall [--prefix DIR] [--dry-run]

``install`` creates Revoice's own Python environment under the prefix, pip-installs the engine
with its offline voices, copies the Resolve script into Resolve's Scripts folder and the
Premiere UXP plugin under the prefix (and installs its ``.ccx`` through Adobe's UPIA when
present), writes ``command.json`` in the service state folder (docs/service-api.md), registers
``revoice serve`` to start at login and starts it (``install_service``: the Premiere panel cannot start
programs), and writes a manifest of everything placed. ``uninstall`` removes exactly what the manifest lists.
The wrappers ``install.sh`` and ``install.ps1`` find a Python and run this file.
"""

from __future__ import annotations

import sys

MINIMUM_PYTHON = (3, 11)
if sys.version_info < MINIMUM_PYTHON:  # before anything newer Pythons need, so an old one gets this line
    raise SystemExit(f"Revoice needs Python 3.11 or newer; this is {sys.version.split()[0]}")

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path, PurePath  # noqa: E402

from install_manifest import InstallManifest, Placer, PluginAgentRecord, uninstall  # noqa: E402
from install_paths import InstallLayout, TargetOS, host_os, install_layout  # noqa: E402
from install_plugins import (  # noqa: E402
    PluginIdentity,
    built_plugin_package,
    plugin_files,
    plugin_identity,
    uxp_plugin_root,
)
from install_service import (  # noqa: E402
    StartServiceNow,
    WriteLoginEntry,
    plan_login_service,
    run_start_command,
    start_detached,
)

INSTALLERS = Path(__file__).resolve().parent
CHECKOUT = INSTALLERS.parent

LEFT_OUT_OF_BUILD = frozenset({".git", ".venv", "venv", "build", "dist", "out", "tests", "bench", "docs", "plugin",
                               "installers", "node_modules", ".mypy_cache", ".pytest_cache", "__pycache__"})
"""Top-level entries of a checkout left out of the copy pip builds the engine from."""
SERVICE_ARGUMENTS = ("serve",)


class InstallError(Exception):
    """A problem the user can fix; its message is printed as is."""


@dataclass(frozen=True, kw_only=True)
class CreateEnvironment:
    python: str
    venv: PurePath

    def describe(self) -> str:
        return f"create Revoice's Python environment {self.venv}  ({self.python} -m venv)"


@dataclass(frozen=True, kw_only=True)
class ShareDependencies:
    """Make another environment's packages importable in the new one (a ``.pth`` file): tests, developers."""

    venv_python: PurePath
    donor: Path

    def describe(self) -> str:
        return (f"reuse the packages of {self.donor} (a .pth file in the new environment's site-packages; "
                "the environment's own setuptools is removed)")


@dataclass(frozen=True, kw_only=True)
class InstallEngine:
    venv_python: PurePath
    source: Path
    extras: tuple[str, ...]
    pip_options: tuple[str, ...]

    def requirement(self, built_from: Path) -> str:
        return str(built_from) + (f"[{','.join(self.extras)}]" if self.extras else "")

    def describe(self) -> str:
        copy = "" if self.source.is_file() else " (built from a copy of the checkout without .git, .venv, tests...)"
        words = ["pip install", *self.pip_options, self.requirement(self.source)]
        return f"{' '.join(words)}{copy} into {self.venv_python}"


@dataclass(frozen=True, kw_only=True)
class PlaceFile:
    source: Path
    target: PurePath

    def describe(self) -> str:
        return f"copy {self.source} -> {self.target}"


@dataclass(frozen=True, kw_only=True)
class WriteServiceCommand:
    target: PurePath
    argv: tuple[str, ...]

    def text(self) -> str:
        return json.dumps({"argv": list(self.argv)}) + "\n"

    def describe(self) -> str:
        return f"write {self.target}  {self.text().strip()}"


@dataclass(frozen=True, kw_only=True)
class RunPluginAgent:
    agent: PurePath
    package: PurePath
    plugin: PluginIdentity
    option_prefix: str
    """``--`` on macOS, ``/`` on Windows (Adobe's documented forms)."""

    def describe(self) -> str:
        return (f"if Adobe's UPIA is present: run {self.agent} {self.option_prefix}install {self.package}  "
                f"(plugin {self.plugin.name!r}, id {self.plugin.plugin_id})")


Action = (CreateEnvironment | ShareDependencies | InstallEngine | PlaceFile | WriteServiceCommand | RunPluginAgent
          | WriteLoginEntry | StartServiceNow)


@dataclass(frozen=True, kw_only=True)
class InstallRequest:
    """``install``'s options, after parsing."""

    source: Path
    python: str
    extras: tuple[str, ...]
    pip_options: tuple[str, ...]
    deps_from_venv: Path | None
    autostart: bool = True
    """Register ``revoice serve`` to start at login (``--no-autostart``: neither that nor starting it now)."""
    start_now: bool = True
    """With :attr:`autostart`, also start the service at once (``--no-start``: at the next login)."""


def plan_install(layout: InstallLayout, request: InstallRequest) -> list[Action]:
    """Every action of an install, in order; nothing is done here."""
    actions: list[Action] = [CreateEnvironment(python=request.python, venv=layout.venv)]
    if request.deps_from_venv is not None:
        actions.append(ShareDependencies(venv_python=layout.venv_python, donor=request.deps_from_venv))
    actions.append(InstallEngine(venv_python=layout.venv_python, source=request.source, extras=request.extras,
                                 pip_options=request.pip_options))
    plugins = (request.source if request.source.is_dir() else CHECKOUT) / "plugin"
    for relative in plugin_files(plugins / "resolve"):
        actions.append(PlaceFile(source=plugins / "resolve" / relative,
                                 target=layout.resolve_scripts.joinpath(*relative.parts)))
    premiere_target = layout.premiere_folder / "revoice-premiere"
    uxp_root = uxp_plugin_root(plugins / "premiere")
    for relative in plugin_files(uxp_root):
        actions.append(PlaceFile(source=uxp_root / relative, target=premiere_target.joinpath(*relative.parts)))
    package = built_plugin_package(plugins / "premiere")
    if package is not None:
        placed_package = layout.premiere_folder / package.name
        actions.append(PlaceFile(source=package, target=placed_package))
        identity = plugin_identity(package)
        if layout.upia is not None and identity is not None:
            actions.append(RunPluginAgent(agent=layout.upia, package=placed_package, plugin=identity,
                                          option_prefix="/" if layout.target is TargetOS.WINDOWS else "--"))
    service_argv = (str(layout.revoice_executable), *SERVICE_ARGUMENTS)
    actions.append(WriteServiceCommand(target=layout.command_file, argv=service_argv))
    if request.autostart:
        actions += plan_login_service(layout, service_argv, start_now=request.start_now,
                                      user_id=_user_id(layout.target))
    return actions


def _user_id(target: TargetOS) -> str:
    """This user's uid for ``launchctl``'s ``gui/<uid>`` domain; ``$UID`` when planning for another OS."""
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if target is host_os(sys.platform) and getuid is not None else "$UID"


def _run(command: Sequence[str | PurePath]) -> None:
    """Run a command, its output going to ours; a failure raises :class:`InstallError`."""
    words = [str(word) for word in command]
    done = subprocess.run(words)
    if done.returncode != 0:
        raise InstallError(f"this command failed (exit {done.returncode}): {' '.join(words)}")


def _python_paths(python: PurePath | str) -> tuple[str, list[str]]:
    """An interpreter's ``major.minor`` and its site-packages folders (purelib, platlib)."""
    code = ("import json, sys, sysconfig; paths = sysconfig.get_paths(); "
            "print(json.dumps(['%d.%d' % sys.version_info[:2], sorted({paths['purelib'], paths['platlib']})]))")
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise InstallError(f"{python} does not run: {done.stderr.strip()[-300:]}")
    version, folders = json.loads(done.stdout)
    return str(version), [str(folder) for folder in folders]


def _stage_checkout(source: Path, staging: Path) -> Path:
    """Copy what pip needs to build the engine (no .git, .venv, tests, build output) into ``staging``."""
    target = staging / "revoice-source"

    def ignore(folder: str, names: list[str]) -> set[str]:
        at_top = Path(folder) == source
        return {name for name in names
                if (at_top and name in LEFT_OUT_OF_BUILD) or name == "__pycache__"
                or name.endswith((".egg-info", ".pyc"))}

    shutil.copytree(source, target, ignore=ignore, symlinks=False)
    return target


def perform(action: Action, placer: Placer) -> None:
    """Do one planned action on this machine, noting what it places in the placer's manifest."""
    manifest = placer.manifest
    if isinstance(action, CreateEnvironment):
        venv = Path(action.venv)
        if venv.exists():
            raise InstallError(f"{venv} already exists and was not made by this installer; "
                               "remove it or choose another --prefix")
        placer.make_folders(venv.parent)
        manifest.venv = str(venv)
        _run([action.python, "-m", "venv", venv])
    elif isinstance(action, ShareDependencies):
        donor_version, donor_folders = _python_paths(action.donor / ("Scripts" if os.name == "nt" else "bin")
                                                     / ("python.exe" if os.name == "nt" else "python"))
        version, folders = _python_paths(action.venv_python)
        if version != donor_version:
            raise InstallError(f"--deps-from-venv needs the same Python: {action.donor} is {donor_version}, "
                               f"the new environment {version} (pass --python)")
        Path(folders[0], "revoice-shared-dependencies.pth").write_text("\n".join(donor_folders) + "\n",
                                                                      encoding="utf-8")
        # Python 3.11's venv brings an old setuptools that would shadow the shared one and cannot build the engine
        _run([action.venv_python, "-m", "pip", "uninstall", "--disable-pip-version-check", "-q", "-y", "setuptools"])
    elif isinstance(action, InstallEngine):
        pip: list[str | PurePath] = [action.venv_python, "-m", "pip", "install", "--disable-pip-version-check",
                                     *action.pip_options]
        if action.source.is_file():
            _run([*pip, action.requirement(action.source)])
        else:
            with tempfile.TemporaryDirectory(prefix="revoice-install-") as staging:
                _run([*pip, action.requirement(_stage_checkout(action.source, Path(staging)))])
    elif isinstance(action, PlaceFile):
        placer.copy_file(action.source, Path(action.target))
    elif isinstance(action, WriteServiceCommand):
        manifest.service_state_folder = str(Path(action.target).parent)
        placer.write_text(Path(action.target), action.text(), folder_mode=0o700)
    elif isinstance(action, WriteLoginEntry):
        manifest.login_entry_unload = list(action.unload)
        placer.write_text(Path(action.target), action.text)
    elif isinstance(action, StartServiceNow):
        if action.log is None:
            print(f"  {run_start_command(action.argv)}", flush=True)
        else:
            print(f"  {start_detached(action.argv, log_path=Path(action.log), service_file=Path(action.service_file))}",
                  flush=True)
    elif Path(action.agent).exists():
        done = subprocess.run([str(action.agent), f"{action.option_prefix}install", str(action.package)],
                              capture_output=True, text=True)
        print(done.stdout + done.stderr, end="", flush=True)
        if done.returncode == 0:
            manifest.plugin_agent = PluginAgentRecord(agent=str(action.agent), plugin_name=action.plugin.name,
                                                      plugin_id=action.plugin.plugin_id,
                                                      option_prefix=action.option_prefix)
        else:
            print(f"warning: Adobe's plugin installer failed (exit {done.returncode}; it may need an administrator)",
                  flush=True)
    else:
        print(f"  no UPIA at {action.agent} (Creative Cloud is not installed here)", flush=True)


def _print_layout(layout: InstallLayout, *, autostart: bool) -> None:
    login_entry = layout.login_entry if autostart else "none (--no-autostart)"
    rows = [("prefix", layout.prefix), ("environment", layout.venv), ("revoice command", layout.revoice_executable),
            ("Resolve scripts", layout.resolve_scripts), ("Premiere plugin", layout.premiere_folder),
            ("state folder", layout.state_folder), ("service command", layout.command_file),
            ("login entry", login_entry),
            ("manifest", layout.manifest), ("Adobe UPIA", layout.upia or "none on this platform")]
    for label, value in rows:
        print(f"  {label:<16} {value}")


def _print_next_steps(layout: InstallLayout, actions: Sequence[Action], *, agent_installed: bool) -> None:
    """How to reach Revoice from each NLE now; ``agent_installed``: Adobe's UPIA installed the ``.ccx``."""
    print("\nNext:")
    if any(isinstance(action, PlaceFile) and layout.resolve_scripts in action.target.parents for action in actions):
        print("  DaVinci Resolve: Workspace > Scripts > Revoice (restart Resolve if it was open)")
    else:
        print("  DaVinci Resolve: no script found in plugin/resolve of the source; nothing placed")
    packages = [action.target for action in actions
                if isinstance(action, PlaceFile) and action.target.suffix == ".ccx"]
    if layout.target is TargetOS.LINUX:
        print(f"  Premiere Pro does not run on Linux; the UXP plugin is in {layout.premiere_folder} "
              "for a macOS or Windows machine")
    elif agent_installed:
        print("  Premiere Pro: Window > UXP Plugins > Revoice (restart Premiere if it was open)")
    else:
        if packages:
            print(f"  Premiere Pro: double-click {packages[0]} (Creative Cloud installs it), or")
        print(f"  Premiere Pro: in Adobe's UXP Developer Tool, Add Plugin > "
              f"{layout.premiere_folder / 'revoice-premiere' / 'manifest.json'}, then Load")
    service = f"`{layout.revoice_executable} serve`"
    if any(isinstance(action, WriteLoginEntry) for action in actions):
        started = "now and " if any(isinstance(action, StartServiceNow) for action in actions) else ""
        print(f"  The Revoice service ({service}) starts {started}at every login ({layout.login_entry}); "
              f"the Resolve script also starts it on demand ({layout.command_file}).")
    else:
        print(f"  The Resolve script starts {service} on demand ({layout.command_file}); the Premiere panel "
              "cannot start programs: run it before you open the panel.")
    print(f"  Voice matching: `{layout.revoice_executable} voice prepare` once (about 20 minutes on 2 cores, "
          "overnight is fine) makes every character's voice match take seconds, the first one included.")
    print("  Uninstall: the same command with `uninstall` (and the same --prefix if you gave one).")


def _explain(error: OSError | InstallError) -> str:
    if isinstance(error, PermissionError):
        return (f"no permission to write {error.filename}: with --system the all-users Scripts folder must be "
                "writable by you (run from an administrator account), or install per user without --system")
    return str(error)


def install(layout: InstallLayout, request: InstallRequest, *, dry_run: bool) -> int:
    """Plan and run (or, with ``dry_run``, print) an install; returns the exit status."""
    actions = plan_install(layout, request)
    print(f"Revoice installer: install for {layout.target.value}"
          + (" (dry run: nothing is changed)" if dry_run else ""))
    _print_layout(layout, autostart=request.autostart)
    manifest_path = Path(layout.manifest)
    if layout.target is host_os(sys.platform) and manifest_path.is_file():
        print(f"\nA previous install is recorded in {manifest_path}: removing it first")
        status = run_uninstall(layout, dry_run=dry_run)
        if status != 0:
            return status
    print()
    if dry_run:
        for action in actions:
            print(f"would {action.describe()}")
        print(f"would write {layout.manifest} (the list of everything placed)")
        _print_next_steps(layout, actions, agent_installed=False)
        return 0
    manifest = InstallManifest(platform=layout.target.value, prefix=str(layout.prefix), source=str(request.source))
    placer = Placer(manifest)
    try:
        for action in actions:
            print(action.describe(), flush=True)
            perform(action, placer)
        manifest.complete = True
    except (InstallError, OSError) as error:
        print(f"error: {_explain(error)}", file=sys.stderr)
        print("`uninstall` removes what was placed so far.", file=sys.stderr)
        return 1
    finally:
        try:
            placer.make_folders(Path(layout.prefix))
            manifest.save(manifest_path)
            print(f"wrote {manifest_path} (the list of everything placed)", flush=True)
        except OSError as error:
            print(f"error: could not write the install manifest {manifest_path}: {error}", file=sys.stderr)
    _print_next_steps(layout, actions, agent_installed=manifest.plugin_agent is not None)
    return 0


def run_uninstall(layout: InstallLayout, *, dry_run: bool) -> int:
    """Remove what the manifest under the layout's prefix lists; returns the exit status."""
    manifest_path = Path(layout.manifest)
    if not manifest_path.is_file():
        print(f"No Revoice install recorded at {manifest_path}: nothing to remove.")
        return 0
    try:
        manifest = InstallManifest.from_json(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, KeyError) as error:
        print(f"error: {manifest_path}: {error}", file=sys.stderr)
        return 2
    kept = uninstall(manifest, manifest_path=manifest_path, dry_run=dry_run, log=lambda line: print(line, flush=True))
    if kept:
        print("Kept (not empty): " + ", ".join(str(folder) for folder in kept))
    return 0


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--prefix", help="Revoice's own folder (environment, Premiere plugin, manifest); default "
                                         "per OS: Linux ~/.local/share/revoice, macOS ~/Library/Application "
                                         "Support/Revoice, Windows %%LOCALAPPDATA%%\\Revoice")
    common.add_argument("--dry-run", action="store_true", help="print every path and action, change nothing")
    common.add_argument("--platform", choices=[target.value for target in TargetOS],
                        help="plan for another OS (with --dry-run); default: this machine's")
    parser = argparse.ArgumentParser(prog="revoice_install.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    setup = commands.add_parser("install", parents=[common], help="install Revoice and its NLE plugins")
    setup.add_argument("--system", action="store_true", help="Resolve script for all users (Linux "
                       "/opt/resolve/Fusion/Scripts/Utility, macOS /Library/..., Windows %%PROGRAMDATA%%\\...)")
    setup.add_argument("--source", type=Path, default=CHECKOUT,
                       help="the Revoice checkout or a wheel to install (default: the folder above installers/)")
    setup.add_argument("--python", help="the Python 3.11+ that makes Revoice's environment (default: this one)")
    setup.add_argument("--extras", default="ui", help="comma-separated extras (default: ui, the standalone panel; "
                                                       "'' for none)")
    deps = setup.add_mutually_exclusive_group()
    deps.add_argument("--no-deps", action="store_true", help="install the engine only, not its dependencies")
    deps.add_argument("--offline-wheels", type=Path, metavar="DIR",
                      help="install from the wheels in DIR only (pip --no-index --find-links DIR)")
    deps.add_argument("--deps-from-venv", type=Path, metavar="VENV",
                      help="reuse VENV's packages instead of downloading any (tests, developers)")
    login = setup.add_mutually_exclusive_group()
    login.add_argument("--no-autostart", action="store_true",
                       help="do not register `revoice serve` to start at login (nor start it now)")
    login.add_argument("--no-start", action="store_true",
                       help="register it to start at login, but do not start it now")
    commands.add_parser("uninstall", parents=[common], help="remove everything the install placed")
    return parser


def _install_request(arguments: argparse.Namespace, *, target: TargetOS) -> InstallRequest:
    source = Path(arguments.source).expanduser().resolve()
    if not (source.is_file() and source.suffix == ".whl") and not (source / "pyproject.toml").is_file():
        raise InstallError(f"--source {source} is neither a Revoice checkout (pyproject.toml) nor a wheel")
    options: tuple[str, ...] = ()
    donor = None
    if arguments.no_deps:
        options = ("--no-deps",)
    elif arguments.offline_wheels is not None:
        options = ("--no-index", "--find-links", str(Path(arguments.offline_wheels).expanduser().resolve()))
    elif arguments.deps_from_venv is not None:
        donor = Path(arguments.deps_from_venv).expanduser().absolute()
        if not (donor / "pyvenv.cfg").is_file():
            raise InstallError(f"--deps-from-venv {donor} is not a Python environment (no pyvenv.cfg)")
        options = ("--no-deps", "--no-build-isolation", "--no-index", "--ignore-installed")
    extras = tuple(extra.strip() for extra in str(arguments.extras).split(",") if extra.strip())
    python = arguments.python
    if python is None:  # a dry run for another OS shows that OS's usual name
        python = {host_os(sys.platform): sys.executable, TargetOS.WINDOWS: "python"}.get(target, "python3")
    return InstallRequest(source=source, python=str(python), extras=extras, pip_options=options,
                          deps_from_venv=donor, autostart=not arguments.no_autostart,
                          start_now=not arguments.no_start)


def main(argv: Sequence[str]) -> int:
    """Run the installer; ``install`` is the default command. Returns the exit status (2: bad usage)."""
    arguments_in = list(argv)
    if not arguments_in or arguments_in[0] not in ("install", "uninstall", "-h", "--help"):
        arguments_in.insert(0, "install")
    arguments = _parser().parse_args(arguments_in)
    host = host_os(sys.platform)
    target = TargetOS(arguments.platform) if arguments.platform else host
    if target is not host and not arguments.dry_run:
        print(f"error: --platform {target.value} on a {host.value} machine needs --dry-run", file=sys.stderr)
        return 2
    prefix = arguments.prefix
    if prefix and target is host:
        prefix = str(Path(prefix).expanduser().absolute())
    layout = install_layout(target, env=os.environ, default_home=str(Path.home()), prefix=prefix,
                            system=getattr(arguments, "system", False))
    if arguments.command == "uninstall":
        print(f"Revoice installer: uninstall for {target.value}" + (" (dry run: nothing is changed)"
                                                                    if arguments.dry_run else ""))
        return run_uninstall(layout, dry_run=arguments.dry_run)
    try:
        return install(layout, _install_request(arguments, target=target), dry_run=arguments.dry_run)
    except InstallError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

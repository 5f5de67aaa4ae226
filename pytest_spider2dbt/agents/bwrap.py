"""Agents inside bubblewrap (`bwrap`): they see the system and Python read-only, their own workspace, and nothing else.

The sandbox is a list of mounts, each at a destination. They are applied parents first, so a deeper mount always
lies on top of a shallower one: a mask on top of the folder that holds a hidden path, the workspace on top of a
mask. bwrap's own options go through a file descriptor (`--args`): its argv is `/proc/1/cmdline` inside the
sandbox, and must name nothing the agent may not see.
"""

from __future__ import annotations

import os
import site
import stat
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .processes import run_process
from .sandbox import Launch, SandboxError
from .spec import SHELL

INSTALL_HINT = "apt-get install bubblewrap (Fedora: dnf install bubblewrap)"
# As root, bwrap keeps every capability unless told otherwise, and with them the agent could unmount the masks.
NAMESPACES = ("--unshare-all", "--share-net", "--die-with-parent", "--new-session", "--cap-drop", "ALL")
SYSTEM_FOLDERS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# /proc/sys is writable by root even without capabilities (bwrap leaves it writable for a root caller), and a
# kernel setting such as core_pattern runs a program outside every namespace.
PROC_COVERS = ("/proc/sys", "/proc/sysrq-trigger")
# `exec "$@"` in a shell: a command that cannot be found ends with status 127, as everywhere else in the harness.
EXEC_IN_SHELL = (SHELL, "-c", 'exec "$@"', "spider2-agent")
# A mask is an empty, read-only tmpfs; the size bounds what can be written into the folders bwrap creates in it.
MASK_OPTIONS = ("--perms", "0555", "--size", "4096", "--tmpfs")
DROPPED_VARIABLES = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR")
TRIAL_SECONDS = 30.0
PACKAGE = Path(__file__).resolve().parents[1]
DEMO_SOLUTIONS = PACKAGE / "demo_suite" / "solutions"
# Mounts at the same depth: shown folders first, then masks over them, then the agent's own folders on top.
VISIBLE, MASK, OWN = 0, 1, 2


@dataclass(frozen=True)
class Bind:
    """A folder (or file) shown inside the sandbox at `dest`."""

    source: Path
    dest: Path
    read_only: bool = True

    def mount(self) -> Mount:
        return Mount(self.dest, ("--ro-bind" if self.read_only else "--bind", str(self.source), str(self.dest)))


@dataclass(frozen=True)
class Mount:
    """One bwrap mount at `dest`; `layer` orders mounts at the same depth (visible folders, masks, the agent's own)."""

    dest: Path
    options: tuple[str, ...]
    layer: int = VISIBLE

    @property
    def order(self) -> tuple[int, int]:
        return len(self.dest.parts), self.layer


def parse_bind(text: str) -> Bind:
    """`SRC[:DEST][:ro]` of --spider2-sandbox-bind; SRC must exist, DEST defaults to SRC."""
    parts = text.split(":")
    read_only = len(parts) > 1 and parts[-1] == "ro"
    if read_only:
        parts = parts[:-1]
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise SandboxError(f"--spider2-sandbox-bind {text!r}: expected SRC, SRC:DEST, SRC:ro or SRC:DEST:ro")
    source = Path(os.path.abspath(os.path.expanduser(parts[0])))
    if not os.path.exists(source):
        raise SandboxError(f"--spider2-sandbox-bind {text!r}: {source} does not exist")
    dest = Path(os.path.expanduser(parts[1])) if len(parts) == 2 else source
    if not dest.is_absolute():
        raise SandboxError(f"--spider2-sandbox-bind {text!r}: the destination {dest} must be an absolute path")
    return Bind(Path(os.path.realpath(source)), Path(os.path.normpath(dest)), read_only)


def real(path: Path | str) -> Path:
    return Path(os.path.realpath(path))


def within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def read_only_binds(folders: Sequence[Path | str]) -> list[Bind]:
    """Each existing folder (or file) read-only at the path it is named by and, when a symlink leads there, at its
    real path too (paths used inside, such as PYTHONPATH entries or a virtualenv's own symlinks, may take either
    way); none that another one already shows."""
    binds = []
    for folder in folders:
        if os.path.exists(folder):
            source = real(folder)
            binds += [Bind(source, dest) for dest in dict.fromkeys([Path(os.path.abspath(folder)), source])]
    unique = list(dict.fromkeys(binds))
    return [bind for bind in unique if not any(other != bind and within(bind.dest, other.dest) for other in unique)]


def python_folders() -> list[Path | str]:
    """What a Python agent (and dbt) needs: the interpreter's prefixes, site-packages and this package's folder (it
    may be installed editable from a checkout, whose other files stay hidden)."""
    folders: list[Path | str] = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
                                 *site.getsitepackages(), PACKAGE]
    if site.ENABLE_USER_SITE:
        folders.append(site.getusersitepackages())
    return folders


def system_mounts() -> list[Mount]:
    """The system's folders read-only (a symlinked one, such as /bin on merged-/usr systems, as the same symlink)."""
    mounts = [
        Mount(Path("/proc"), ("--proc", "/proc")),
        Mount(Path("/dev"), ("--dev", "/dev")),
        Mount(Path("/tmp"), ("--perms", "1777", "--tmpfs", "/tmp")),
    ]
    for folder in SYSTEM_FOLDERS:
        if os.path.islink(folder):
            mounts.append(Mount(Path(folder), ("--symlink", os.readlink(folder), folder)))
        elif os.path.isdir(folder):
            mounts.append(Bind(Path(folder), Path(folder)).mount())
    resolver = real("/etc/resolv.conf")
    if resolver.is_file() and not any(within(resolver, Path(f)) for f in SYSTEM_FOLDERS):
        mounts.append(Bind(resolver, resolver).mount())
    mounts += [Mount(Path(p), ("--ro-bind-try", p, p), MASK) for p in PROC_COVERS]
    return mounts


def masks(binds: Sequence[Bind], hidden: Sequence[Path]) -> list[Mount]:
    """An empty mount over every hidden path that lies inside a shown folder, at its place in the sandbox."""
    found = []
    for bind in binds:
        for path in hidden:
            if within(path, bind.source) and os.path.lexists(path):
                dest = bind.dest / path.relative_to(bind.source)
                found.append(mask(path, dest))
    return found


def mask(path: Path, dest: Path) -> Mount:
    if os.path.isdir(path) and not os.path.islink(path):
        return Mount(dest, (*MASK_OPTIONS, str(dest)), MASK)
    return Mount(dest, ("--ro-bind", "/dev/null", str(dest)), MASK)


@dataclass(frozen=True)
class BwrapSandbox:
    """Runs each agent command in a fresh bubblewrap sandbox.

    Visible: the system's folders and the Python environment read-only, `read_only` folders (a `python:` agent's
    modules, a `cmd:` template's script), the user's binds; the workspace, a private HOME, a private /tmp and the
    agent's log folder writable; /proc of its own PID namespace, a minimal /dev, and the network. Every `hidden`
    path inside a visible folder is masked.
    """

    executable: str
    visible: tuple[Bind, ...] = ()
    binds: tuple[Bind, ...] = ()
    hidden: tuple[Path, ...] = ()
    isolation: str = "bwrap"
    base: tuple[Mount, ...] = field(default_factory=tuple)

    @classmethod
    def configure(cls, executable: str, *, binds: Sequence[str] = (), hidden: Sequence[Path] = (),
                  read_only: Sequence[Path] = ()) -> BwrapSandbox:
        return cls(
            executable=executable,
            visible=tuple(read_only_binds([*python_folders(), *read_only])),
            binds=tuple(parse_bind(text) for text in binds),
            hidden=tuple(dict.fromkeys([*(real(p) for p in hidden), DEMO_SOLUTIONS])),
            base=tuple(system_mounts()),
        )

    @contextmanager
    def launch(self, argv: Sequence[str], *, workspace: Path, env: Mapping[str, str],
               logs: Path | None = None) -> Iterator[Launch]:
        with ExitStack() as stack:
            if logs is not None:
                logs.mkdir(parents=True, exist_ok=True)
            own = {workspace: workspace} | ({logs: logs} if logs is not None else {})
            home = private_folder(workspace / "home")
            user_home = home_of(env)
            binds = self.binds
            if user_home is not None and self.home_can_replace(user_home, workspace):
                own[home] = user_home
            elif user_home is not None:
                binds = tuple(relocated(bind, user_home, home) for bind in binds)
            fds = {dest: stack.enter_context(folder_descriptor(source)) for source, dest in own.items()}
            options = [*NAMESPACES, *self.mount_options(binds, fds), "--remount-ro", "/", "--clearenv"]
            for name, value in agent_environment(env, None if home in own else home).items():
                options += ["--setenv", name, value]
            arguments = stack.enter_context(argument_file(options))
            yield Launch([self.executable, "--args", str(arguments), "--", *EXEC_IN_SHELL, *argv], {},
                         (arguments, *fds.values()))

    def home_can_replace(self, user_home: Path, workspace: Path) -> bool:
        """The agent's private home (`<workspace>/home`) is mounted at the user's HOME path, so that a bind of
        `~/.claude` is the agent's `~/.claude`, unless a shown folder is that home or holds it (the agent's own
        modules may live there): then HOME names `<workspace>/home`, and binds under the user's home go there."""
        shown = [*self.visible, *self.binds]
        return not within(user_home, workspace) and not any(within(user_home, bind.dest) for bind in shown)

    def mount_options(self, binds: Sequence[Bind], own: Mapping[Path, int]) -> list[str]:
        """Every mount, parents first; the agent's own folders (`dest -> open descriptor`) go on top."""
        shown = [*self.visible, *binds]
        mounts = [*self.base, *(b.mount() for b in shown), *masks(shown, self.hidden)]
        mounts += [Mount(dest, ("--bind-fd", str(fd), str(dest)), OWN) for dest, fd in own.items()]
        return [option for mount in sorted(mounts, key=lambda m: m.order) for option in mount.options]

    def trial(self) -> str | None:
        """Why bwrap cannot run an agent here (no namespaces, a bad bind), or None when a trial command works.

        It runs as an agent does (through `run_process`): bwrap's init process may outlive bwrap itself for a
        moment, and would be left as a zombie child of this process."""
        with tempfile.TemporaryDirectory(prefix="spider2-sandbox-trial-") as folder:
            workspace = Path(folder)
            errors = workspace / "trial.stderr"
            with self.launch(["true"], workspace=workspace, env={"PATH": os.defpath}) as run:
                result = run_process(run.argv, cwd=workspace, env=run.env, seconds=TRIAL_SECONDS,
                                     stdout_path=workspace / "trial.stdout", stderr_path=errors,
                                     pass_fds=run.pass_fds)
            if result.returncode == 0:
                return None
            message = errors.read_text(errors="replace").strip().splitlines()
        if result.start_error or result.timed_out:
            return result.start_error or f"bwrap did not finish within {TRIAL_SECONDS:g} s"
        return message[-1] if message else f"bwrap exited with status {result.returncode}"


def home_of(env: Mapping[str, str]) -> Path | None:
    """The user's home as the environment names it, unless it is missing, relative or the root."""
    home = Path(env.get("HOME", "/"))
    return home if home.is_absolute() and home != Path("/") else None


def relocated(bind: Bind, user_home: Path, agent_home: Path) -> Bind:
    """A bind into the user's home, moved to the same place in the agent's home."""
    if not within(bind.dest, user_home):
        return bind
    return Bind(bind.source, agent_home / bind.dest.relative_to(user_home), bind.read_only)


def agent_environment(env: Mapping[str, str], home: Path | None) -> dict[str, str]:
    """The agent's variables inside the sandbox: /tmp for temporary files, HOME moved when `home` is given, and no
    XDG folders (they would name places outside the sandbox; their defaults lie in the private home)."""
    inside = {name: value for name, value in env.items() if name not in DROPPED_VARIABLES}
    inside["TMPDIR"] = "/tmp"
    if home is not None:
        inside["HOME"] = str(home)
    return inside


def private_folder(path: Path) -> Path:
    """`path` as a real folder: whatever else the agent left in its place (a symlink, a file) is removed first."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        path.mkdir()
        return path
    if not stat.S_ISDIR(info.st_mode):
        path.unlink()
        path.mkdir()
    return path


@contextmanager
def folder_descriptor(path: Path) -> Iterator[int]:
    """An O_PATH descriptor of a folder, opened without following a symlink (bwrap binds it with --bind-fd)."""
    fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def argument_file(options: Sequence[str]) -> Iterator[int]:
    """bwrap's options, NUL-separated, in an anonymous file for `--args` (a pipe could fill up before bwrap reads)."""
    fd = os.memfd_create("bwrap-args")
    try:
        with open(fd, "wb", closefd=False) as file:
            file.write(b"".join(option.encode() + b"\0" for option in options))
        os.lseek(fd, 0, os.SEEK_SET)
        yield fd
    finally:
        os.close(fd)

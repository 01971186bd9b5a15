"""A cached Debian arm64 root in which this project's tests run as a real
aarch64 process on an x86-64 host (qemu user-mode emulation + binfmt_misc).

    arm64_root.py check            can this host do it? (else: SKIPPED <reason>)
    arm64_root.py build            build or reuse the root, print its path
    arm64_root.py run -- CMD...    run CMD inside it, in the project directory
    arm64_root.py test             build if needed, run the native tests inside

Why a root and not Unicorn: Unicorn proves encodings, but only a real
aarch64 CPython proves that the VM selects the aarch64 backend, maps code and
calls it through ctypes. The cache lives in $JITVM_ARM64_ROOT (default
/var/cache/jitvm-arm64-root); one flock serialises builders on a machine, and
stamp files make every finished step skip, so a built root is reused in well
under a second and an interrupted build resumes where it stopped."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import tomllib
from contextlib import contextmanager
from pathlib import Path

import click

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = '/var/cache/jitvm-arm64-root'
SUITE = 'bookworm'
BASE_PACKAGES = 'python3,python3-venv,ca-certificates'
VENV = '/opt/venv'
BINFMT = Path('/proc/sys/fs/binfmt_misc')
BINFMT_CONF = Path('/usr/lib/binfmt.d/qemu-aarch64.conf')
HOST_CA = Path('/etc/ssl/certs/ca-certificates.crt')
ROOT_CA = '/etc/ssl/host-ca-bundle.crt'
# Environment names passed into the root; everything else is dropped so the
# host's pip settings (PIP_* pointing at host-only folders) cannot leak in.
PASS_ENV = ('CI', 'TERM', 'PYTHONHASHSEED', 'PYTEST_ADDOPTS')
PASS_PREFIX = 'JITVM_'
# What `test` runs inside: the tests that execute generated code natively,
# and the conformance corpus on the interpreter + native engines.
NATIVE_TESTS = (
    'tests/conformance/test_corpus.py',
    'tests/jit/test_native_limits.py',
    'tests/jit/test_wx.py',
    'tests/jit/test_tiering.py',
    'tests/asmkit/test_memory.py',
    'tests/asmkit/test_aarch64_icache.py',
)


class Unsupported(Exception):
    """This host cannot build or run the root; the message is the reason."""


class Failed(click.ClickException):
    """A step failed: one `error:` line on stderr, exit 1."""


def log(msg: str) -> None:
    click.echo(f'[arm64-root {time.strftime("%H:%M:%S")}] {msg}', err=True)


# ------------------------------------------------------------------ the cache

class Cache:
    """The cache directory: rootfs/, a lock file and one stamp per step."""

    def __init__(self, path: str | None = None):
        self.dir = Path(path or os.environ.get('JITVM_ARM64_ROOT') or DEFAULT_CACHE)
        self.rootfs = self.dir / 'rootfs'

    def stamp(self, step: str) -> Path:
        return self.dir / f'{step}.done'

    def done(self, step: str, value: str = '') -> bool:
        p = self.stamp(step)
        return p.exists() and p.read_text() == value

    def mark(self, step: str, value: str = '') -> None:
        self.stamp(step).write_text(value)

    def forget(self, *steps: str) -> None:
        for s in steps:
            self.stamp(s).unlink(missing_ok=True)

    @contextmanager
    def locked(self, exclusive: bool):
        """Builders take the lock exclusively, runs share it: a run never
        sees a root that another process is changing."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / 'lock', 'a') as f:
            mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            try:
                fcntl.flock(f, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                log(f'waiting for another process holding {self.dir / "lock"}')
                fcntl.flock(f, mode)
            yield


def requirements() -> list[str]:
    """Runtime + test requirements from pyproject.toml; pip inside the root
    evaluates the markers, so keystone (x86-64 only) drops out there."""
    data = tomllib.loads((PROJECT / 'pyproject.toml').read_text())['project']
    return list(data['dependencies']) + list(data['optional-dependencies']['test'])


def config_key() -> str:
    """What a finished root was built for; a change rebuilds the pip step."""
    return hashlib.sha256('\n'.join([SUITE, BASE_PACKAGES, *requirements()]).encode()).hexdigest()


# ------------------------------------------------------------------ host checks

def sh(*cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], **kw)


def binfmt_mounted() -> bool:
    """binfmt_misc is not mounted at boot on some machines: mount it."""
    if (BINFMT / 'register').exists():
        return True
    return BINFMT.is_dir() and sh('mount', '-t', 'binfmt_misc', 'binfmt_misc', BINFMT,
                                  capture_output=True).returncode == 0


def binfmt_ready() -> bool:
    """Register qemu-aarch64 with Debian's entry (flag F: the interpreter is
    opened at registration, so chroots need no copy of qemu). It covers the
    whole machine and lasts until reboot; x86 binaries are untouched."""
    if not binfmt_mounted():
        return False
    entry = BINFMT / 'qemu-aarch64'
    try:
        if not entry.exists():
            if not BINFMT_CONF.exists():
                return False
            (BINFMT / 'register').write_text(BINFMT_CONF.read_text().strip())
        if entry.read_text().splitlines()[0] != 'enabled':
            entry.write_text('1')
        return entry.read_text().splitlines()[0] == 'enabled'
    except OSError:
        return False


HOST_TOOLS = (('qemu-aarch64-static', 'qemu-user-static'), ('debootstrap', 'debootstrap'),
              ('unshare', 'util-linux'))


def host_problem(install: bool) -> str | None:
    """Why this host cannot build and run the root, or None. With install,
    missing host tools are installed; without, only shown installable."""
    if platform.system() != 'Linux':
        return f'host is {platform.system()}, not Linux'
    if platform.machine() != 'x86_64':
        return f'host is {platform.machine()}, not x86_64: run the tests natively instead'
    if os.geteuid() != 0:
        return 'needs root (debootstrap, chroot, mount namespaces, binfmt_misc)'
    missing = [pkg for tool, pkg in HOST_TOOLS if not shutil.which(tool)]
    if missing:
        if not shutil.which('apt-get'):
            return f'{", ".join(missing)} missing and no apt-get to install them'
        if install:
            apt_install(missing)
        else:
            probe = sh('apt-cache', 'policy', *missing, capture_output=True, text=True)
            if probe.returncode or 'Candidate: (none)' in probe.stdout \
                    or probe.stdout.count('Candidate:') < len(missing):
                return f'{", ".join(missing)} not installable from the configured apt sources'
    if not binfmt_mounted():
        return f'binfmt_misc cannot be mounted on {BINFMT}'
    if shutil.which('qemu-aarch64-static') and not binfmt_ready():
        return 'qemu-aarch64 cannot be registered with binfmt_misc'
    return None


def apt_install(pkgs: list[str]) -> None:
    log(f'installing host packages: {" ".join(pkgs)}')
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    cmd = ['apt-get', '-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', *pkgs]
    if sh(*cmd, env=env).returncode:
        sh('apt-get', 'update', env=env)
        if sh(*cmd, env=env).returncode:
            raise Unsupported(f'cannot install {" ".join(pkgs)}')


def debian_mirror(etc_apt: Path = Path('/etc/apt')) -> str:
    """The host's configured Debian mirror (deb822 or one-line sources), so
    no host name is written anywhere in the project."""
    if os.environ.get('JITVM_ARM64_MIRROR'):
        return os.environ['JITVM_ARM64_MIRROR']
    files = sorted((etc_apt / 'sources.list.d').glob('*.sources'))
    files += [etc_apt / 'sources.list', *sorted((etc_apt / 'sources.list.d').glob('*.list'))]
    for f in files:
        if not f.is_file():
            continue
        for line in f.read_text().splitlines():
            words = line.split('#')[0].split()
            if f.suffix == '.sources' and words[:1] and words[0].lower() == 'uris:':
                uris = words[1:]
            elif words[:1] == ['deb']:
                uris = [w for w in words[1:] if not w.startswith('[') and '=' not in w
                        and not w.endswith(']')][:1]
            else:
                continue
            for uri in uris:
                if 'security' not in uri and uri.rstrip('/').endswith('/debian'):
                    return uri.rstrip('/')
    raise Unsupported('no Debian mirror in /etc/apt/sources.list*; set JITVM_ARM64_MIRROR')


# ------------------------------------------------------------------ running inside

def inside_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The clean environment of a process in the root."""
    env = {
        'HOME': '/root', 'LANG': 'C.UTF-8',
        'PATH': f'{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'DEBIAN_FRONTEND': 'noninteractive',
        'PIP_DISABLE_PIP_VERSION_CHECK': '1', 'PIP_DEFAULT_TIMEOUT': '180', 'PIP_PROGRESS_BAR': 'off',
        'PIP_CERT': ROOT_CA, 'SSL_CERT_FILE': ROOT_CA, 'REQUESTS_CA_BUNDLE': ROOT_CA,
        # the project is found on the path, never installed: no network for it
        'PYTHONPATH': str(PROJECT),
    }
    for name, value in os.environ.items():
        if name in PASS_ENV or name.startswith(PASS_PREFIX):
            env[name] = value
    env.update(extra or {})
    return env


def sync_host_files(rootfs: Path) -> None:
    """DNS and the host CA bundle (it may hold a proxy's CA that Debian's
    arm64 bundle lacks)."""
    if Path('/etc/resolv.conf').exists():
        shutil.copyfile('/etc/resolv.conf', rootfs / 'etc/resolv.conf')
    if HOST_CA.exists():
        shutil.copyfile(HOST_CA, rootfs / ROOT_CA.lstrip('/'))


def in_root(rootfs: Path, cmd: list[str], env: dict[str, str], bind_project: bool = True) -> int:
    """Run cmd in rootfs in a private mount namespace: proc, /dev, /sys and
    the project (at its own path) are mounted for it and vanish with it."""
    inner = [sys.executable, str(Path(__file__).resolve()), '_enter', str(rootfs),
             '1' if bind_project else '0', '--', *cmd]
    # the wrapper's own env is the host's; _enter replaces it with `env` at exec
    wrapper_env = dict(os.environ, _JITVM_ARM64_ENV=json.dumps(env))
    return sh('unshare', '--mount', '--propagation', 'private', '--', *inner, env=wrapper_env).returncode


def enter(rootfs: Path, bind_project: bool, cmd: list[str]) -> None:
    """In the new mount namespace: mount, chroot, chdir, exec (never returns)."""
    for args in (['-t', 'proc', 'proc', rootfs / 'proc'], ['--rbind', '/dev', rootfs / 'dev'],
                 ['-t', 'sysfs', 'sysfs', rootfs / 'sys']):
        sh('mount', *args, check=args[0] != '-t' or args[1] == 'proc')
    wd = '/'
    if bind_project:
        (rootfs / str(PROJECT).lstrip('/')).mkdir(parents=True, exist_ok=True)
        sh('mount', '--rbind', PROJECT, rootfs / str(PROJECT).lstrip('/'), check=True)
        wd = str(PROJECT)
    env = json.loads(os.environ['_JITVM_ARM64_ENV'])
    os.chroot(rootfs)
    os.chdir(wd)
    try:
        os.execvpe(cmd[0], cmd, env)
    except OSError as e:
        click.echo(f'error: cannot run {cmd[0]} in the arm64 root: {e.strerror}', err=True)
        raise SystemExit(127)


# ------------------------------------------------------------------ building

def finished(cache: Cache, key: str) -> bool:
    return cache.done('complete', key) and (cache.rootfs / VENV.lstrip('/') / 'bin/python').exists()


def build_root(cache: Cache) -> float:
    """Build or resume the root under the exclusive lock; seconds spent."""
    t0 = time.monotonic()
    key = config_key()
    if finished(cache, key):        # the common case: no exclusive lock, so runs never wait
        return time.monotonic() - t0
    with cache.locked(exclusive=True):
        if finished(cache, key):    # another builder finished it while we waited
            return time.monotonic() - t0
        problem = host_problem(install=True)
        if problem:
            raise Unsupported(problem)
        rootfs = cache.rootfs
        if not cache.done('stage1'):
            if rootfs.exists():
                log(f'discarding an unfinished first stage in {rootfs}')
                shutil.rmtree(rootfs)
            cache.forget('stage2', 'venv', 'pip', 'complete')
            mirror = debian_mirror()
            log(f'debootstrap stage 1: {SUITE} arm64 minbase from the configured mirror')
            t = time.monotonic()
            step(sh('debootstrap', '--arch=arm64', '--foreign', '--variant=minbase',
                    f'--include={BASE_PACKAGES}', SUITE, rootfs, mirror, stdout=sys.stderr),
                 'debootstrap stage 1')
            cache.mark('stage1')
            log(f'stage 1 done in {time.monotonic() - t:.0f} s')
        if not cache.done('stage2') and not (rootfs / 'debootstrap/debootstrap').exists():
            cache.mark('stage2')        # it finished (and removed itself) before the stamp
        if not cache.done('stage2'):
            log('debootstrap stage 2 under qemu (emulated, several minutes)')
            t = time.monotonic()
            # its own mount namespace: whatever it mounts inside goes away with it
            step(sh('unshare', '--mount', '--propagation', 'private', '--', 'chroot', rootfs,
                    '/debootstrap/debootstrap', '--second-stage', stdout=sys.stderr),
                 f'debootstrap stage 2 (log: {rootfs}/debootstrap/debootstrap.log)')
            clean_apt(rootfs)
            cache.mark('stage2')
            log(f'stage 2 done in {time.monotonic() - t:.0f} s')
        sync_host_files(rootfs)
        if not cache.done('venv'):
            log(f'creating {VENV}')
            t = time.monotonic()
            shutil.rmtree(rootfs / VENV.lstrip('/'), ignore_errors=True)
            step(in_root(rootfs, ['python3', '-m', 'venv', VENV], inside_env(), False), 'venv')
            cache.forget('pip')
            cache.mark('venv')
            log(f'venv done in {time.monotonic() - t:.0f} s')
        if not cache.done('pip', key):
            reqs = requirements()
            log(f'pip install (aarch64): {" ".join(reqs)}')
            t = time.monotonic()
            step(in_root(rootfs, ['python', '-m', 'pip', 'install', '-q', *reqs], inside_env(), False),
                 'pip install')
            cache.mark('pip', key)
            log(f'pip done in {time.monotonic() - t:.0f} s')
        probe = ['python', '-c', 'import platform, sys; sys.exit(platform.machine() != "aarch64")']
        if in_root(rootfs, probe, inside_env(), False):
            raise Failed(f'python in {rootfs} does not report aarch64')
        cache.mark('complete', key)
    return time.monotonic() - t0


def step(result, what: str) -> None:
    code = result if isinstance(result, int) else result.returncode
    if code:
        raise Failed(f'{what} failed (exit {code}); rerun to resume')


def clean_apt(rootfs: Path) -> None:
    """Drop downloaded .debs and package lists (~90 MB); apt-get update brings them back."""
    for p in (rootfs / 'var/cache/apt/archives').glob('*.deb'):
        p.unlink()
    for p in (rootfs / 'var/lib/apt/lists').glob('*'):
        if p.is_file() and p.name != 'lock':
            p.unlink()


def run_inside(cache: Cache, cmd: list[str], extra_env: dict[str, str] | None = None) -> int:
    problem = host_problem(install=False)
    if problem:
        raise Unsupported(problem)
    missing = Failed(f'no finished arm64 root in {cache.dir}: run `{sys.argv[0]} build`')
    if not cache.dir.is_dir():
        raise missing
    with cache.locked(exclusive=False):
        if not finished(cache, config_key()):
            raise missing
        sync_host_files(cache.rootfs)
        return in_root(cache.rootfs, cmd, inside_env(extra_env))


# ------------------------------------------------------------------ the CLI

@click.group(context_settings={'help_option_names': ['-h', '--help']})
@click.option('--cache', 'cache_dir', metavar='DIR', help=f'cache directory (default $JITVM_ARM64_ROOT or {DEFAULT_CACHE})')
@click.pass_context
def cli(ctx, cache_dir):
    """A cached Debian arm64 root for running this project as aarch64."""
    ctx.obj = Cache(cache_dir)


@cli.command()
def check():
    """Say whether this host can build and run the root (exit 0) or why not (exit 1)."""
    problem = host_problem(install=False)
    if problem:
        click.echo(f'SKIPPED arm64 native tests: {problem}')
        raise SystemExit(1)
    click.echo('ok: this host can build and run the arm64 root')


@cli.command()
@click.pass_obj
def build(cache):
    """Build the root, or reuse a finished one; print its path."""
    seconds = guarded(build_root, cache)
    log(f'root ready in {seconds:.1f} s')
    click.echo(cache.rootfs)


@cli.command(context_settings={'ignore_unknown_options': True})
@click.option('--env', 'env', multiple=True, metavar='NAME=VALUE', help='set a variable inside')
@click.argument('cmd', nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_obj
def run(cache, env, cmd):
    """Run CMD as aarch64 in the root, in the project directory."""
    bad = [e for e in env if '=' not in e or e.startswith('=')]
    if bad:
        raise click.UsageError(f'--env wants NAME=VALUE, got {bad[0]!r}')
    extra = dict(e.split('=', 1) for e in env)
    raise SystemExit(guarded(run_inside, cache, list(cmd), extra))


@cli.command(context_settings={'ignore_unknown_options': True})
@click.option('--engines', default='native', show_default=True,
              help='JITVM_TEST_ENGINES inside (see tests/support/engine_filter.py)')
@click.argument('pytest_args', nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def test(cache, engines, pytest_args):
    """Build if needed, then run the native-execution tests and the
    conformance corpus inside the root (extra args go to pytest)."""
    t_build = guarded(build_root, cache)
    click.echo(f'arm64 root: build {t_build:.1f} s ({cache.rootfs})')
    selection = list(pytest_args) or list(NATIVE_TESTS)
    # a one-line guard first: the run is only evidence if python is aarch64
    cmd = ['python', '-c', INSIDE_TEST, *selection]
    t0 = time.monotonic()
    code = guarded(run_inside, cache, cmd, {'JITVM_TEST_ENGINES': engines})
    click.echo(f'arm64 root: tests {time.monotonic() - t0:.1f} s, exit {code}')
    raise SystemExit(code)


# The project's packages are imported before pytest collects: on the host
# the installed (editable) packages win over same-named test folders
# (tests/vm); inside, where the project is only on the path, importing them
# first gives the same resolution.
INSIDE_TEST = '''\
import platform, sys
assert platform.machine() == "aarch64", platform.machine()
print("inside the arm64 root: python", platform.python_version(), "on", platform.machine(), flush=True)
import asmkit, backends, vm
import pytest
sys.exit(pytest.main(["-p", "no:cacheprovider", *sys.argv[1:]]))
'''


@cli.command('_enter', hidden=True, context_settings={'ignore_unknown_options': True})
@click.argument('rootfs', type=click.Path(path_type=Path))
@click.argument('bind', type=click.Choice(['0', '1']))
@click.argument('cmd', nargs=-1, required=True, type=click.UNPROCESSED)
def enter_cmd(rootfs, bind, cmd):
    enter(rootfs, bind == '1', list(cmd))


def guarded(fn, *args):
    """Turn an unsupported host into one line (exit 3) instead of a traceback."""
    try:
        return fn(*args)
    except Unsupported as e:
        click.echo(f'SKIPPED arm64 native tests: {e}', err=True)
        raise SystemExit(3)


def main(argv=None) -> int:
    """Never a traceback: every failure is one `error:` line (usage: exit 2)."""
    try:
        cli.main(args=argv, prog_name='arm64_root.py', standalone_mode=False)
        return 0
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        message = e.format_message().strip().splitlines()[-1]
        click.echo(f'error: {message}', err=True)
        return e.exit_code
    except click.Abort:
        click.echo('error: interrupted', err=True)
        return 130
    except OSError as e:
        click.echo(f'error: {e}', err=True)
        return 1


if __name__ == '__main__':
    sys.exit(main())

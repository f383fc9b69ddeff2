"""Files that are written whole or not at all.

Each file is written to a temporary name beside its target, flushed to the
disk (`fsync`), then renamed onto the target (`os.replace`, atomic on POSIX
and Windows), and the folder is synced so the rename survives a power cut.
A process killed at any point leaves the old file or the new one, never a
mix; at worst a stray temporary file, which no reader trusts.
"""

import contextlib
import os
import shutil
import tempfile

from kft.errors import KftError


def temporary_name(path, suffix=""):
    """The temporary file `path` is written through: `.NAME.partial`."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.partial{suffix}")


def commit(temporary, path):
    """Flushes the finished `temporary` to the disk and renames it to
    `path`."""
    with open(temporary, "rb") as f:
        os.fsync(f.fileno())
    os.replace(temporary, path)
    sync_folder(os.path.dirname(os.path.abspath(path)))


def sync_folder(folder):
    """Makes a rename in `folder` durable (where the OS supports it)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # e.g. Windows cannot fsync a folder
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def writing(path, mode="wb", encoding=None, newline=None):
    """Opens a temporary file that becomes `path` when the block ends.

    If the block raises, the temporary file is removed and `path` is left
    as it was.

    Example:

    ```python
    with atomic.writing("metrics.json", "w", encoding="utf-8") as f:
        json.dump(record, f)
    ```
    """
    temporary = temporary_name(path)
    try:
        with open(temporary, mode, encoding=encoding,
                  newline=newline) as f:
            yield f
        commit(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


@contextlib.contextmanager
def written(path, suffix=""):
    """Yields a temporary path beside `path` for a library to write (e.g.
    `model.save`, `figure.savefig`); it becomes `path` when the block ends.

    Args:
        path: str. The target file.
        suffix: str. Ends the temporary name, for writers that insist on
            an extension (Keras wants `.keras`).
    """
    temporary = temporary_name(path, suffix)
    try:
        yield temporary
        commit(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


@contextlib.contextmanager
def folder(path, overwrite=False, what="--out"):
    """Yields an empty temporary folder that replaces folder `path` when
    the block ends; a failure leaves `path` as it was.

    The folder gets the modes of any folder made here (0777 less the
    umask), not `mkdtemp`'s private 0700. An old `path` is renamed aside
    and deleted only after the new one is in place.

    Args:
        path: str. The folder to write.
        overwrite: bool. Replace `path` when it exists and is not empty.
        what: str. How messages name `path`, e.g. `--out`.

    Raises:
        KftError: `path` is a file, or a non-empty folder without
            `overwrite`.
    """
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.exists(path) and not os.path.isdir(path):
        raise KftError(f"{what} {path} is a file; give a folder path")
    if os.path.isdir(path) and os.listdir(path) and not overwrite:
        raise KftError(f"{what} {path} exists and is not empty; pass "
                       "--overwrite or choose another folder")
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    temporary = tempfile.mkdtemp(
        prefix=f".{os.path.basename(path)}.partial-", dir=parent)
    try:
        umask = os.umask(0o22)
        os.umask(umask)
        os.chmod(temporary, 0o777 & ~umask)
        yield temporary
        _swap(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _swap(temporary, path):
    """Renames `temporary` to `path`; an old `path` goes only afterwards."""
    old = temporary + ".old"
    if os.path.lexists(path):
        os.replace(path, old)
    try:
        os.replace(temporary, path)
    except OSError:
        if os.path.lexists(old):
            os.replace(old, path)
        raise
    if os.path.isdir(old):
        shutil.rmtree(old, ignore_errors=True)
    elif os.path.lexists(old):
        os.remove(old)
    sync_folder(os.path.dirname(path))


def symlink(target, path):
    """Points the symbolic link `path` at `target` (e.g. a relative path),
    replacing any old link at once: readers see the old target or the new
    one, never no link."""
    temporary = temporary_name(path)
    with contextlib.suppress(FileNotFoundError):
        os.remove(temporary)
    os.symlink(target, temporary)
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    sync_folder(os.path.dirname(os.path.abspath(path)))


def remove_leftovers(folder):
    """Removes the temporary files of writes that a kill cut short."""
    for name in os.listdir(folder):
        if name.startswith(".") and ".partial" in name:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, name))

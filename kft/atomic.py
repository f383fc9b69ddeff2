"""Files that are written whole or not at all.

Each file is written to a temporary name beside its target, flushed to the
disk (`fsync`), then renamed onto the target (`os.replace`, atomic on POSIX
and Windows), and the folder is synced so the rename survives a power cut.
A process killed at any point leaves the old file or the new one, never a
mix; at worst a stray temporary file, which no reader trusts.
"""

import contextlib
import os


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


def remove_leftovers(folder):
    """Removes the temporary files of writes that a kill cut short."""
    for name in os.listdir(folder):
        if name.startswith(".") and ".partial" in name:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, name))

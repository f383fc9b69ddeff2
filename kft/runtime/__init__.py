"""The process a run trains in: its backend, devices, memory and the
private APIs it leans on.

- `backend`: chooses the Keras backend (the only reader of
  `KERAS_BACKEND`), before keras is imported;
- `setup`: a run's process settings (devices, allocator, random bits,
  seeds, precision), undone when it ends, and their `env.json` record;
- `distribute`: many devices and hosts with each engine's own means, and
  the launcher of a local multi-process run (`distribute.launch`);
- `allocator`: glibc settings that keep freed memory in the process;
- `compat`: every private or version-specific API, with its fallback;
- `kernels`: faster CPU kernels patched into Keras's ops (JAX's
  convolutions and pooling, torch's matmuls), behind `compat`'s gate;
- `quiet`: hides the native libraries' noise on the terminal.

Imports `kft.errors` only from kft, and keras and the engines only inside
functions.
"""

#!/usr/bin/env python3
"""Makes the uniffi-generated Swift honour Task cancellation.

uniffi 0.32's Swift `uniffiRustCallAsync` ignores `Task.cancel()`: the awaiting Task waits until
the Rust future completes. This patch (applied by the Makefile after `uniffi-bindgen generate`)
passes each call's `rust_future_cancel` function and calls it from `withTaskCancellationHandler`,
then throws `CancellationError`; the Rust future is freed, which drops the await on the core's
runtime (the fetch itself continues for other callers). Kotlin needs no patch: its
`suspendCancellableCoroutine` already stops waiting on cancellation.

Usage: swift_cancellation.py TokenBroker.swift   (idempotent; fails loudly if the text changed)
"""
import re
import sys

MARK = "// tokenbroker: Task cancellation patch"

path = sys.argv[1]
src = open(path, encoding="utf-8").read()
if MARK in src:
    sys.exit(0)

# 1. Every call site also passes the matching cancel function.
call_re = re.compile(r"(\n(\s*)pollFunc: (ffi_\w+)_rust_future_poll_(\w+),)")
src, calls = call_re.subn(
    lambda m: f"{m.group(1)}\n{m.group(2)}cancelFunc: {m.group(3)}_rust_future_cancel_{m.group(4)},",
    src,
)
if calls == 0:
    sys.exit(f"{path}: no async call sites found (uniffi template changed?)")

# 2. The helper takes it and wires it to the Task's cancellation.
helper_re = re.compile(
    r"fileprivate func uniffiRustCallAsync<F, T>\(\n"
    r"    rustFutureFunc: \(\) -> UInt64,\n"
    r"    pollFunc: (?P<poll>.*),\n"
    r"(?P<rest>    completeFunc: .*?\) async throws -> T \{\n.*?)"
    r"    var pollResult: Int8;\n"
    r"    repeat \{\n"
    r"(?P<loop>.*?)"
    r"    \} while pollResult != UNIFFI_RUST_FUTURE_POLL_READY\n",
    re.S,
)


def helper(m):
    loop = "".join("    " + line + "\n" for line in m.group("loop").splitlines())
    return (
        "fileprivate func uniffiRustCallAsync<F, T>(\n"
        "    rustFutureFunc: () -> UInt64,\n"
        f"    pollFunc: {m.group('poll')},\n"
        "    cancelFunc: @convention(c) (UInt64) -> Void,\n"
        f"{m.group('rest')}"
        f"    {MARK}: cancelling the awaiting Task cancels the Rust future,\n"
        "    // whose continuation then resumes at once; the result is dropped.\n"
        "    await withTaskCancellationHandler {\n"
        "        var pollResult: Int8\n"
        "        repeat {\n"
        f"{loop}"
        "        } while pollResult != UNIFFI_RUST_FUTURE_POLL_READY\n"
        "    } onCancel: {\n"
        "        cancelFunc(rustFuture)\n"
        "    }\n"
        "    try Task.checkCancellation()\n"
    )


src, helpers = helper_re.subn(helper, src)
if helpers != 1:
    sys.exit(f"{path}: uniffiRustCallAsync not found as expected (uniffi template changed?)")
open(path, "w", encoding="utf-8").write(src)
print(f"swift_cancellation: patched {calls} async calls", file=sys.stderr)

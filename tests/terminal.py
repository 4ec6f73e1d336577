"""Running a command in a pseudo-terminal, as a user's shell would, and reading what it drew."""
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time


def run_in_terminal(args: list, cwd, env: dict, timeout: float = 300, columns: int = 160) -> str:
    """Everything ``args`` wrote to a terminal ``columns`` wide (stdout and stderr, escape codes and all).

    Fails when the command fails or outlasts ``timeout`` seconds.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))  # a new pty is 0 columns wide
    process = subprocess.Popen(args, cwd=cwd, env={**env, "TERM": "xterm-256color"}, stdin=slave, stdout=slave,
                               stderr=slave, close_fds=True)  # fmt: skip
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # EIO: the command has exited and closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        if process.poll() is None and time.monotonic() >= deadline:
            process.kill()
    screen = b"".join(chunks).decode(errors="replace")
    assert process.wait(timeout=60) == 0, screen[-3000:]
    return screen


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape codes (colours, cursor moves)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)

"""SSH signatures of a quarterly report's manifest, the way git signs with SSH keys.

`ssh-keygen -Y` (openssh-client) signs and verifies; nothing here implements
cryptography. The manifest names every output with its SHA-256, so its
signature vouches for the whole report folder.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .errors import ReporterError

NAMESPACE = "welfare-report"
SIGNATURE = "manifest.json.sig"


def _ssh_keygen() -> str:
    program = shutil.which("ssh-keygen")
    if program is None:
        raise ReporterError("signing needs ssh-keygen (Debian's openssh-client); it is not installed")
    return program


def sign(data: bytes, key: Path) -> bytes:
    """The SSH signature of `data` with the private key `key`."""
    done = subprocess.run(
        [_ssh_keygen(), "-Y", "sign", "-q", "-f", str(key), "-n", NAMESPACE],
        input=data, capture_output=True, check=False,
    )
    if done.returncode != 0:
        raise ReporterError(f"{key}: cannot sign with this key ({done.stderr.decode(errors='replace').strip()})")
    return done.stdout


def signature_problems(data: bytes, signature: Path, allowed_signers: Path) -> list[str]:
    """Why `signature` is not a valid signature of `data` by a key in `allowed_signers`; empty when it is."""
    if not signature.is_file():
        return [f"{signature.name}: missing; the report is not signed"]
    program = _ssh_keygen()
    found = subprocess.run(
        [program, "-Y", "find-principals", "-s", str(signature), "-f", str(allowed_signers)],
        capture_output=True, text=True, check=False,
    )
    principals = found.stdout.split()
    if found.returncode != 0 or not principals:
        return [f"{signature.name}: signed by no key in {allowed_signers}"]
    checked = subprocess.run(
        [program, "-Y", "verify", "-f", str(allowed_signers), "-I", principals[0], "-n", NAMESPACE,
         "-s", str(signature)],
        input=data, capture_output=True, check=False,
    )
    if checked.returncode != 0:
        return [f"{signature.name}: does not match manifest.json (the manifest or the signature was changed)"]
    return []

"""Fixtures for the security suite: a canary secret in the environment, and helpers."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import rx_sec

CANARY = f"canary-{secrets.token_hex(12)}"
os.environ["RX_CANARY"] = CANARY
rx_sec.CANARY = CANARY

"""``vr-exposure keys generate|list|allow``: manage the CURVE keys of the link (see link/keys.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vr_exposure.link import keys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=None, help="key store (default: the user config dir)")
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    gen = sub.add_parser("generate", help="create a key pair")
    gen.add_argument("--name", default="console", help="console or renderer (default: console)")
    gen.add_argument("--force", action="store_true", help="replace an existing pair of that name")
    sub.add_parser("list", help="list own key pairs and allowed console keys")
    allow = sub.add_parser("allow", help="allow a console's public key (run on the renderer's machine)")
    allow.add_argument("public_key_file", type=Path)
    allow.add_argument("--name", default=None, help="name on the allow-list (default: the file's name)")


def run(args: argparse.Namespace) -> int:
    directory: Path | None = args.dir
    if args.keys_command == "generate":
        public, secret = keys.generate_keys(args.name, directory=directory, force=args.force)
        print(f"public key: {public}  (give this file to the peer)")
        print(f"secret key: {secret}  (mode 0600; never copy it off this machine)")
        if args.name != "renderer":
            print(f"on the renderer's machine: vr-exposure keys allow {public.name}")
        return 0
    if args.keys_command == "list":
        found = keys.list_keys(directory)
        if not found:
            print(f"no keys in {directory or keys.keys_dir()}; create one with `vr-exposure keys generate`")
            return 0
        for info in found:
            print(f"{info.kind:8} {info.name:20} {info.public_key}  {info.path}")
        return 0
    if args.keys_command == "allow":
        target = keys.allow_key(args.public_key_file, name=args.name, directory=directory)
        print(f"allowed: {target}")
        return 0
    return 2

"""The ``weipay`` command: composes the SDK, the simulator and the service."""

from __future__ import annotations

import click

from weipay import __version__
from weipay.cli.config_cmd import config
from weipay.cli.service_cmd import db, demo, reconcile, serve, worker
from weipay.cli.simulator_cmd import simulator

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="weipay")
def cli() -> None:
    """weipay: WeChat Pay for merchants.

    \b
    Start here:
      weipay demo              simulator + payment service on SQLite, no configuration
      weipay demo --script     the same, walked end to end by a script (exits 0 on success)
      weipay simulator --help  the offline WeChat Pay servers
      weipay config check      check a merchant's keys and settings
    """


for _command in (config, db, demo, reconcile, serve, simulator, worker):
    cli.add_command(_command)


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="weipay")

"""`python -m app rules`: regenerate the rule files and dashboards, test them, or fit rules to an incident.

python -m app rules generate [--check]      write (or, with --check, diff) recording_rules/ and grafana/
    python -m app rules generate --out DIR --runbook-base URL   a copy to deploy, runbook links to URL
python -m app rules test                    promtool check rules + promtool test rules
python -m app rules for-incident --bundle B [--from T --to T --broker N] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli import UsageError
from app.commands.common import add_window_arguments, open_source, window_from_args


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "rules", help="generate/test Prometheus rules and dashboards; rules for an incident"
    )
    parser.add_argument(
        "action",
        nargs="?",
        choices=["generate", "test", "for-incident"],
        help="default: for-incident when a source is given",
    )
    parser.add_argument(
        "--check", action="store_true", help="generate: fail with a diff if committed files differ"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--bundle", help="a recorded bundle directory (for-incident)")
    source.add_argument("--prometheus", help="Prometheus base URL (for-incident, live)")
    parser.add_argument("--loki", help="Loki base URL (live)")
    parser.add_argument("--cluster", help="cluster label value (live)")
    add_window_arguments(parser)
    parser.add_argument("--broker", default="all", help="broker id to focus on, or 'all' (default)")
    parser.add_argument(
        "--margin",
        type=float,
        default=0.5,
        help="threshold position between normal (0) and observed (1); default 0.5",
    )
    parser.add_argument(
        "--out",
        help="for-incident: write incident.rules.yml and incident.rules.test.yml here; "
        "generate: write a deployable copy under this folder instead of the repository",
    )
    parser.add_argument(
        "--runbook-base",
        help="generate --out: URL of docs/runbook.md as your team hosts it (runbook_url = <this>#<alert>)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    action = args.action or ("for-incident" if (args.bundle or args.prometheus) else None)
    if action is None:
        raise UsageError(
            "say what to do: rules generate [--check] | rules test | rules for-incident --bundle DIR"
        )
    if action == "generate":
        if args.out:
            return _generate_copy(Path(args.out), args.runbook_base)
        if args.runbook_base:
            raise UsageError("--runbook-base only applies with --out (the committed files keep repo paths)")
        return _generate(args.check)
    if action == "test":
        return _test()
    return _for_incident(args)


def _generate(check: bool) -> int:
    from app.rules import generate

    if check:
        text = generate.diff()
        if text:
            sys.stdout.write(text)
            print(
                "generated files differ from the committed ones; run `python -m app rules generate`",
                file=sys.stderr,
            )
            return 1
        print("generated files are up to date")
        return 0
    for path in generate.write():
        print(f"wrote {path.relative_to(generate.REPO)}")
    return 0


def _generate_copy(out: Path, runbook_base: str | None) -> int:
    import dataclasses

    from app.rules import generate
    from app.rules.config import DEFAULT

    if out.resolve() == generate.REPO.resolve():
        raise UsageError(
            "--out is for a copy outside the repository; omit it to regenerate the committed files"
        )
    cfg = dataclasses.replace(DEFAULT, runbook_base=runbook_base) if runbook_base else DEFAULT
    if runbook_base and not runbook_base.startswith(("http://", "https://")):
        raise UsageError(f"--runbook-base {runbook_base!r} should be an http(s) URL of docs/runbook.md")
    for path in generate.write(out, generate.artefacts(cfg=cfg)):
        print(f"wrote {path}")
    return 0


def _test() -> int:
    from app.rules import generate, promtool

    try:
        checked = promtool.check_rules(generate.REPO / generate.RULES_FILE)
        print(checked.output)
        tested = promtool.test_rules(generate.REPO / generate.TEST_FILE)
    except promtool.PromtoolMissing as exc:
        raise UsageError(str(exc)) from None
    print(tested.output)
    return 0 if checked.ok and tested.ok else 1


def _for_incident(args: argparse.Namespace) -> int:
    if not (args.bundle or args.prometheus):
        raise UsageError("for-incident needs --bundle DIR or --prometheus URL")
    from app.pipeline import UnknownBroker, diagnose
    from app.rules.incident import NoRules, rules_for_incident, verify

    source = open_source(args)
    window = window_from_args(args, source)
    try:
        result = diagnose(source, window=window, broker=args.broker)
        rules = rules_for_incident(result.incident, result.metrics, margin=args.margin)
    except UnknownBroker as exc:
        raise UsageError(str(exc)) from None
    except (NoRules, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "incident.rules.yml").write_text(rules.rules_yaml)
        (out / "incident.rules.test.yml").write_text(rules.test_yaml)
        print(f"wrote {out / 'incident.rules.yml'} and {out / 'incident.rules.test.yml'}", file=sys.stderr)
    else:
        sys.stdout.write(rules.rules_yaml)
    status = verify(rules)
    if status["ok"] is None:
        print(f"warning: not verified: {status['message']}", file=sys.stderr)
    elif not status["ok"]:
        print(f"error: promtool rejected the generated rules:\n{status['message']}", file=sys.stderr)
        return 1
    else:
        print(f"promtool: {status['message']}", file=sys.stderr)
    for line in rules.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    return 0

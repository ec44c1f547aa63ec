"""How long one mediation agreement takes to render: the median of 50 renders in a warm
process (fonts loaded, templates compiled), on a throw-away SQLite database. Prints the wall-clock
median and the CPU-time median (the two differ when other processes share the cores).

    .venv/bin/python -m bench.bench_records [--renders 50] [--warmup 3]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def mediated_case():
    from odr.disputes import operations as ops
    from odr.extensions import db
    from tests.factories import build_world, file_case, shanghai

    world = build_world()
    complaint = file_case(world.consumer, world.enterprise, now=shanghai(2026, 10, 12))
    ops.escalate(world.consumer, complaint, now=shanghai(2026, 10, 13))
    ops.accept_case(world.mediator, complaint, now=shanghai(2026, 10, 14))
    ops.propose_agreement(
        world.mediator,
        complaint,
        terms="被申请人为申请人办理退货退款。\n申请人于三日内将羽绒服寄回被申请人。",
        amount="1299.00",
        performance_due="2026-10-30",
        now=shanghai(2026, 10, 15),
    )
    ops.sign_agreement(world.consumer, complaint, ip_address="203.0.113.7")
    ops.sign_agreement(world.owner, complaint, ip_address="198.51.100.2")
    db.session.commit()
    return complaint


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)

    from odr import create_app
    from odr.config import TestConfig
    from odr.disputes.choices import RecordKind
    from odr.disputes.records import new_code, render_record
    from odr.extensions import db
    from odr.types import utcnow

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            TestConfig,
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/bench.sqlite",
            INSTANCE_DIR=tmp,
            UPLOAD_DIR=f"{tmp}/uploads",
            RECORD_DIR=f"{tmp}/records",
            MAIL_DIR=f"{tmp}/mail",
        )
        with app.app_context():
            db.create_all()
            complaint = mediated_case()
            for _ in range(args.warmup):
                render_record(complaint, RecordKind.MEDIATION_AGREEMENT, new_code(), utcnow())
            times, cpu, size = [], [], 0
            for _ in range(args.renders):
                start, start_cpu = time.perf_counter(), time.process_time()
                pdf = render_record(complaint, RecordKind.MEDIATION_AGREEMENT, new_code(), utcnow())
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
                size = len(pdf)
            db.session.remove()
            db.engine.dispose()
    times.sort()
    p90 = times[max(0, int(len(times) * 0.9) - 1)]
    print(
        f"mediation agreement: median {statistics.median(times) * 1000:.0f} ms over "
        f"{len(times)} renders in a warm process (min {times[0] * 1000:.0f} ms, "
        f"p90 {p90 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms; {size / 1024:.0f} KB a PDF)"
    )
    # Wall time includes waiting for a core on a busy machine; CPU time is the cost itself.
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"CPU time: median {statistics.median(cpu) * 1000:.0f} ms a render "
        f"(load average {load:.1f} on {os.cpu_count()} cores during the run)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

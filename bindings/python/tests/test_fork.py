"""After ``os.fork()``, handles made before the fork are refused in the
child (with a message saying to attach again), never passed down."""

from __future__ import annotations

import os

import pytest

from conftest import run_python

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork")


def test_a_handle_from_before_the_fork_is_refused_in_the_child(name: str) -> None:
    # In a fresh interpreter: forking pytest itself, with its threads, is not the point.
    code = f"""
import asyncio, os, shmiface
seg = shmiface.init_instance({name!r}, capacity=64, history=4)
seg.set_bytes(b"from the parent")
view = seg.borrow().view
asyncio.run(seg.wait_async(timeout=0.01))  # the waiter threads exist before the fork
pid = os.fork()
if pid == 0:
    failures = []
    calls = [seg.get_bytes, seg.get_string, lambda: seg.set_bytes(b"x"), lambda: seg.set_string("x"),
             seg.info, lambda: seg.version, lambda: seg.next(0), lambda: seg.borrow(), seg.loan,
             lambda: seg.wait(timeout=0), seg.notify, lambda: list(seg.values(timeout=0)),
             lambda: asyncio.run(seg.next_async(0))]
    for call in calls:
        try:
            call()
            failures.append(f"{{call}} passed")
        except shmiface.DestroyedError as exc:
            failures.append(f"{{call}}: DestroyedError {{exc}}")
        except shmiface.ShmifaceError as exc:
            if "attach again in the child" not in str(exc) or exc.status == 18:
                failures.append(f"{{call}}: {{exc!r}}")
    len(bytes(view)); view = None  # an inherited view reads without a crash and ends quietly
    seg.destroy()  # nothing to release in the child
    again = shmiface.get_instance({name!r})
    if again.get_bytes() != b"from the parent":
        failures.append("attaching again did not read the parent's value")
    again.set_bytes(b"from the child")
    if asyncio.run(again.next_async(0)).data != b"from the parent":
        failures.append("asyncio in the child did not work")
    again.destroy()
    print("\\n".join(failures))
    os._exit(1 if failures else 0)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert seg.get_bytes() == b"from the child"  # the parent's handle is untouched by the child
assert os.path.exists("/dev/shm/{name}")
seg.destroy()
print("ok")
"""
    out = run_python(code)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().splitlines()[-1] == "ok", out.stdout


def test_the_child_exiting_leaves_the_parents_segment(name: str) -> None:
    code = f"""
import os, shmiface
seg = shmiface.init_instance({name!r})
seg.set_string("parent")
pid = os.fork()
if pid == 0:
    raise SystemExit(0)  # a normal exit: finalizers and atexit run in the child
os.waitpid(pid, 0)
assert os.path.exists("/dev/shm/{name}") and seg.get_string() == "parent"
assert seg.info().owner_alive
seg.destroy()
print("ok")
"""
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

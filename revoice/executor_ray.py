"""``--executor ray``: a session's lines rendered by Ray actors, one loaded voice per actor.

Ray is an optional extra (``pip install 'revoice[ray]'``). Without ``--ray-address``
a local cluster is started for the run (``num_cpus`` = ``--jobs``, else this
machine's CPUs) and shut down after it; with ``ray://HOST:10001`` the actors run
on that cluster, which must have Revoice (and its voices) installed and see the
output folder under the same path (a shared folder, as ``--shard`` needs).

Each actor (:class:`RayLineWorker`, one CPU) builds a
:class:`~revoice.executor.LineRenderer` from the run's
:class:`~revoice.executor.WorkerPlan` once, with one math thread
(:data:`revoice.executor.THREAD_ENVIRONMENT` in its runtime environment), and
renders the lines the driver hands it one at a time, longest first; the files
are the same bytes as one process writes. Cancel kills the actors (a line in
flight leaves nothing half-written). Ray phones nowhere: usage stats are off
(:data:`revoice.privacy.OFFLINE_ENVIRONMENT`), the local cluster has no dashboard,
listens on 127.0.0.1 and the workers' logs stay in Ray's session folder.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from revoice.engine.render import ProgressCallback
from revoice.engine.voices.base import temporary_environment
from revoice.executor import (
    THREAD_ENVIRONMENT,
    LineRenderer,
    WorkerPlan,
    worker_count,
)
from revoice.executor_lanes import (
    LaneOutcome,
    LineResult,
    LineTask,
    WorkerLost,
    run_lanes,
)
from revoice.options import JobError, JobOptions
from revoice.privacy import OFFLINE_ENVIRONMENT, offline_environment

MISSING = "--executor ray: Ray is not installed; pip install 'revoice[ray]'"
LOCAL_CLUSTER_ENVIRONMENT: Mapping[str, str] = MappingProxyType({
    "http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
    "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost",
})
"""Set while a local cluster starts, so its processes inherit them: Ray's head process asks the cloud
metadata addresses (169.254.169.254, metadata.google.internal) which cloud it runs on even with usage
stats off (ray 2.60, dashboard UsageStatsHead); through a proxy on a closed local port those requests
fail at once, on this machine. Ray's own connections stay on 127.0.0.1, which bypasses the proxy."""
LOOPBACK_ENVIRONMENT: Mapping[str, str] = MappingProxyType({"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})
"""Read when ``ray`` is imported: a local cluster on 127.0.0.1, without asking the route to 8.8.8.8 for
this machine's address (a UDP connect Ray makes to find its node address)."""
START_SECONDS = 600.0
"""How long an actor may take to be placed on the cluster and load its voices."""


class RayLineWorker:
    """A Ray actor's body: the plan's voices loaded once, then one line per call."""

    def __init__(self, plan: WorkerPlan) -> None:
        offline_environment()
        self.renderer = LineRenderer.from_plan(plan)

    def ready(self) -> int:
        """The actor's process id, once its voices are loaded."""
        return os.getpid()

    def render(self, task: LineTask) -> LineResult:
        return self.renderer.render(task)


class RayLane:
    """One actor of :class:`RayLineWorker`, driven from a thread of this process."""

    def __init__(self, actor_class: Any, plan: WorkerPlan, *, index: int, ray: Any) -> None:
        self.name = f"Ray worker {index}"
        self.actor_class = actor_class
        self.plan = plan
        self.ray = ray
        self.actor: Any = None

    def start(self) -> None:
        self.actor = self.actor_class.remote(self.plan)
        try:
            self.ray.get(self.actor.ready.remote(), timeout=START_SECONDS)
        except Exception as exc:  # noqa: BLE001 - RayActorError, GetTimeoutError: the cause is in the message
            raise WorkerLost(f"{self.name} could not start: {_short(exc)}") from None

    def render(self, task: LineTask) -> LineResult:
        try:
            result = self.ray.get(self.actor.render.remote(task))
        except Exception as exc:  # noqa: BLE001 - any Ray error ends this worker's lane
            raise WorkerLost(f"{self.name} stopped: {_short(exc)}") from None
        if not isinstance(result, LineResult):
            raise WorkerLost(f"{self.name} answered {type(result).__name__}")
        return result

    def stop(self) -> None:
        self.kill()

    def kill(self) -> None:
        if self.actor is not None:
            try:
                self.ray.kill(self.actor)
            except Exception:  # noqa: BLE001, S110 - already gone
                pass


def _short(exc: BaseException) -> str:
    """One line for a (Ray) error, whose text carries the remote traceback: its last ``XError: ...`` line."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).strip().splitlines()]
    causes = [line for line in lines if re.match(r"^[A-Za-z_.]+(Error|Exception|Exit|Interrupt)\b.*:", line)]
    return (causes[-1] if causes else f"{type(exc).__name__}: {lines[0] if lines else ''}")[:400]


def import_ray(*, local: bool) -> Any:
    """The ``ray`` module (``local``: set up for a cluster on this machine); JobError naming the extra when missing."""
    if local and "ray" not in sys.modules:
        os.environ.update(LOOPBACK_ENVIRONMENT)
    try:
        import ray
    except ImportError:
        raise JobError(MISSING) from None
    return ray


def start_ray(ray: Any, options: JobOptions) -> bool:
    """Connect to ``options.ray_address`` or start a local cluster; True when this call started one."""
    offline_environment()  # Ray's processes read RAY_USAGE_STATS_ENABLED from the environment they inherit
    if ray.is_initialized():
        return False
    worker_env = {**THREAD_ENVIRONMENT, **OFFLINE_ENVIRONMENT}
    common: dict[str, Any] = {"log_to_driver": False, "configure_logging": False, "ignore_reinit_error": True}
    try:
        if options.ray_address is not None:
            ray.init(address=options.ray_address, runtime_env={"env_vars": worker_env}, **common)
        else:  # this machine's workers import what this process can (as worker processes do)
            local_env = {**worker_env, "PYTHONPATH": os.pathsep.join(_own_paths())}
            with temporary_environment(LOCAL_CLUSTER_ENVIRONMENT):  # what the cluster's processes inherit
                ray.init(num_cpus=worker_count(options), include_dashboard=False, _node_ip_address="127.0.0.1",
                         runtime_env={"env_vars": local_env}, **common)
    except Exception as exc:  # noqa: BLE001 - a cluster that cannot be reached or started: one line
        where = options.ray_address or "a local Ray cluster"
        raise JobError(f"--executor ray: cannot start or reach {where} ({_short(exc)})") from None
    return True


def _own_paths() -> list[str]:
    """This process's import paths outside its Python installation (a script's folder, PYTHONPATH, a checkout)."""
    prefixes = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})
    return [path for path in sys.path if path and not path.startswith(prefixes)]


def render_on_ray(tasks: Sequence[LineTask], *, plan: WorkerPlan, options: JobOptions,
                  progress: ProgressCallback | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> LaneOutcome:
    """Render ``tasks`` (longest first) on Ray actors; JobError when Ray is missing or unreachable."""
    ray = import_ray(local=options.ray_address is None)
    started = start_ray(ray, options)
    try:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))  # an actor takes one: more would wait forever
        count = min(options.jobs, cpus) if options.jobs is not None else cpus
        actor_class = ray.remote(num_cpus=1, max_restarts=0)(RayLineWorker)
        lanes = [RayLane(actor_class, plan, index=index, ray=ray) for index in range(1, min(count, len(tasks)) + 1)]
        cancel = threading.Event()

        def kill_all() -> None:
            for lane in lanes:
                lane.kill()

        return run_lanes(lanes, tasks, progress=progress, should_cancel=should_cancel, cancel=cancel,
                         on_cancel=kill_all)
    finally:
        if started:
            ray.shutdown()


__all__ = ["MISSING", "RayLane", "RayLineWorker", "import_ray", "render_on_ray", "start_ray"]

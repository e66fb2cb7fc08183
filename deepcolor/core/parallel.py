"""Where parallel work runs: joblib's processes on this machine, or a Dask cluster.

Every parallel stage of deepcolor (feature extraction with gists and semantic histograms,
the cluster networks with their judging, benchmark chunks, the gists of the baselines)
is a ``joblib.Parallel`` call. Without a scheduler they run in joblib's local processes
(``--jobs``), as always. With ``--scheduler`` the same calls run on a ``dask.distributed``
cluster through joblib's Dask backend (:func:`scheduler_session`), so the tasks, their
seeds and their results are the same whichever engine runs them; Dask adds retries when
a worker dies (a task whose worker is lost is run again elsewhere) and clusters of many
machines.

``--scheduler`` takes:

* ``local:N``: a ``LocalCluster`` of N worker processes with one thread each, started
  here and closed at the end;
* an address, ``tcp://HOST:8786`` (or ``HOST:8786``): an existing cluster, however it was
  launched (``dask scheduler`` + ``dask worker``, dask-jobqueue on Slurm, dask-kubernetes).
  Workers need the deepcolor package (same version) and read access to the data and the
  feature cache (``--cache`` on a shared path); training workers write the model's
  networks, so the model folder must be shared too.

A mixed cluster: workers started with ``dask worker ... --resources GPU=1`` take the
cluster networks (:func:`on_resource`, which the training's network stage asks for), and
every other stage runs on any worker; a cluster without such workers runs everything
anywhere.
"""

import contextlib
import functools
import logging
import os
import resource

__all__ = ["active_session", "in_processes", "on_resource", "one_thread", "parallel_jobs", "thread_budget",
           "parse_scheduler", "scheduler_session", "SchedulerError"]

#: The Dask session in force (set by :func:`scheduler_session`), else None.
_ACTIVE = []
#: Set once this process runs as one core's worker (:func:`one_thread`).
_ONE_THREAD = []


class SchedulerError(ValueError):
    """A scheduler that cannot be used (bad ``--scheduler`` value, Dask missing, unreachable)."""


def parse_scheduler(text):
    """``"local:2"`` -> ``("local", 2)``; ``"tcp://host:8786"`` or ``"host:8786"`` -> ``("address", "tcp://host:8786")``."""
    text = str(text).strip()
    if text.startswith("local:") or text == "local":
        count = text.partition(":")[2] or str(os.cpu_count() or 1)
        try:
            workers = int(count)
        except ValueError:
            raise SchedulerError(f"--scheduler {text!r}: local:N needs a number of workers") from None
        if workers < 1:
            raise SchedulerError(f"--scheduler {text!r}: local:N needs at least 1 worker")
        return "local", workers
    if not text or " " in text:
        raise SchedulerError(f"--scheduler {text!r}: give local:N or a scheduler address (tcp://HOST:PORT)")
    address = text if "://" in text else f"tcp://{text}"
    return "address", address


def _dask_backend():
    """joblib's Dask backend, registered once as ``deepcolor-dask``, telling joblib that the
    cluster runs at least 2 tasks at once: joblib runs a call whose effective ``n_jobs`` is 1
    in the calling process, so a cluster of one worker thread would otherwise never be used
    (Dask queues the second task behind the first)."""
    from joblib import register_parallel_backend
    from joblib._dask import DaskDistributedBackend  # the class joblib registers as "dask"

    class AtLeastTwo(DaskDistributedBackend):
        def effective_n_jobs(self, n_jobs):
            return max(2, super().effective_n_jobs(n_jobs))

    register_parallel_backend("deepcolor-dask", AtLeastTwo)
    return "deepcolor-dask"


def _worker_peak_mb():
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def active_session():
    """The Dask :class:`Session` in force, or None (joblib)."""
    return _ACTIVE[-1] if _ACTIVE else None


@contextlib.contextmanager
def on_resource(name):
    """Inside, the Dask tasks of ``joblib.Parallel`` calls go only to workers that advertise
    the resource ``name`` (``dask worker ... --resources GPU=1``), one unit per task, when
    the cluster has any; without a Dask session, or without such a worker, nothing changes."""
    session = active_session()
    if session is None or session.client is None:
        yield
        return
    workers = session.client.scheduler_info()["workers"].values()
    if not any(name in (w.get("resources") or {}) for w in workers):
        yield
        return
    from joblib import parallel_config

    with parallel_config(backend=_dask_backend(), resources={name: 1}):
        yield


def in_processes(jobs):
    """Whether a stage should go through ``joblib.Parallel``: more than one job, or a Dask
    cluster in force (even of one worker: the work then leaves this process)."""
    return jobs > 1 or bool(_ACTIVE)


def one_thread():
    """Run the calling worker's Numba, OpenCV and gist FFT pool on one thread each (torch is
    the caller's: no torch below the networks): a worker is one core's share (joblib
    process or Dask worker), and inner threads would oversubscribe the cores. Results do
    not change (the parallel loops write disjoint outputs)."""
    import cv2
    import numba

    numba.set_num_threads(1)
    cv2.setNumThreads(1)
    _ONE_THREAD.append(True)  # and the gist's own FFT threads (thread_budget)


def release_freed_memory():
    """Hand the heap's freed pages back to the system: glibc's ``malloc_trim(0)``; elsewhere
    nothing. Returns whether it ran.

    Why: a benchmark worker's resident memory grows over images of varying size although
    torch and numpy free their buffers (glibc keeps the pages), and loky restarts a worker
    whose memory grew by 300 MB since its first task, warning "A worker stopped while some
    jobs were given to the executor" and reloading the model. Measured with ``general-vgg``
    on 40 general test photos in one process: 318 MB after loading, 1089 MB after the 40th;
    trimmed after every 5th, 535 MB."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.lru_cache(maxsize=None)
def _malloc_trim():
    """glibc's ``malloc_trim``, or None; looked up once (``find_library`` runs ``ldconfig``)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def thread_budget(default):
    """Threads a stage of this process may start itself (the gist's FFT pool): ``default``,
    or 1 in a worker that called :func:`one_thread`."""
    return 1 if _ONE_THREAD else default


def parallel_jobs(jobs):
    """``n_jobs`` for ``joblib.Parallel``: ``jobs``, or every Dask worker (-1) when a cluster is
    in force (joblib runs ``n_jobs=1`` in this process whatever the backend, so a one-worker
    cluster would otherwise do nothing)."""
    return -1 if _ACTIVE else jobs


class Session:
    """What :func:`scheduler_session` yields: ``jobs`` (parallel slots) and, for a Dask
    cluster, ``client`` and :meth:`worker_peak_mb`."""

    def __init__(self, jobs, client=None, description="joblib"):
        self.jobs, self.client, self.description = jobs, client, description

    def worker_peak_mb(self):
        """Peak resident memory of each Dask worker process so far (MB), by address; {} for joblib.

        A worker that died before answering (the scheduler not told yet) is left out: a lost
        worker is replaced and its tasks rerun, so its memory figure must not fail the run."""
        if self.client is None:
            return {}
        answers = self.client.run(_worker_peak_mb, on_error="return")
        return {address: float(mb) for address, mb in answers.items() if not isinstance(mb, BaseException)}


@contextlib.contextmanager
def scheduler_session(scheduler=None, jobs=1, *, connect_timeout=30):
    """Run the ``joblib.Parallel`` calls inside on ``scheduler`` (see the module docstring).

    Parameters
    ----------
    scheduler : str or None
        ``None``: joblib's processes, ``jobs`` of them. ``"local:N"`` or an address: Dask.
    jobs : int
        Worker processes without a scheduler.

    Yields
    ------
    Session
        ``jobs`` is the number of parallel tasks to ask for: ``jobs`` for joblib, the
        cluster's worker threads for Dask.

    Raises
    ------
    SchedulerError
        Dask is not installed, or the scheduler cannot be reached.
    """
    if not scheduler:
        yield Session(max(1, int(jobs)))
        return
    kind, value = parse_scheduler(scheduler)
    try:
        from dask.distributed import Client, LocalCluster
        from joblib import parallel_config
    except ImportError:
        raise SchedulerError("--scheduler needs Dask: pip install 'dask[distributed]'") from None
    cluster = None
    try:
        if kind == "local":
            # the dashboard and health endpoints on a free port: two clusters at once must not clash
            cluster = LocalCluster(n_workers=value, threads_per_worker=1, processes=True, dashboard_address=":0",
                                   silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            client = Client(value, timeout=connect_timeout)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise SchedulerError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    session = None
    try:
        slots = max(1, sum(client.nthreads().values()))
        description = f"Dask {'LocalCluster' if cluster else value}, {slots} worker thread(s)"
        session = Session(slots, client, description)
        _ACTIVE.append(session)
        with parallel_config(backend=_dask_backend()):
            yield session
    finally:
        if _ACTIVE and _ACTIVE[-1] is session:
            _ACTIVE.pop()
        client.close()
        if cluster is not None:
            cluster.close()

"""Training curves from the scalar logs mmengine writes.

mmengine's ``LocalVisBackend`` appends one JSON object per logged step to
``WORK_DIR/<timestamp>/vis_data/scalars.json`` (``<timestamp>`` is one run of
``tools/train.py``; a ``--resume`` starts a new one). A work dir's curve is its newest
run extended backwards by the earlier runs it resumed from: each older run contributes
only the steps before the first step of the runs after it, so a resumed run gives one
continuous curve and a run restarted from scratch in the same folder hides the old one.
"""
import json
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# Logged with every step, but not curves anyone wants by default.
BOOKKEEPING_KEYS = ('step', 'epoch', 'iter', 'time', 'data_time', 'memory')
Series = Tuple[List[float], List[float]]


def find_runs(work_dir: str) -> List[str]:
    """``scalars.json`` files of a work dir, oldest run first.

    Raises:
        FileNotFoundError: if the folder does not exist or holds no run with one.
    """
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'work dir {work_dir!r} does not exist')
    # mmengine's run folders are timestamps (YYYYMMDD_HHMMSS): name order is time order.
    runs = [osp.join(work_dir, d, 'vis_data', 'scalars.json') for d in sorted(os.listdir(work_dir))]
    runs = [r for r in runs if osp.isfile(r)]
    if not runs:
        raise FileNotFoundError(f'no <timestamp>/vis_data/scalars.json under {work_dir!r} '
                                '(is it the work dir of a tools/train.py run?)')
    return runs


def read_scalars(path: str) -> List[dict]:
    """The records of one ``scalars.json``. A truncated last line (a run killed while
    writing) is skipped with a warning; a bad line elsewhere is an error."""
    with open(path, encoding='utf-8') as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    records = []
    for n, line in enumerate(lines, 1):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            if n == len(lines):
                warnings.warn(f'{path}:{n}: skipping a truncated last line')
                break
            raise ValueError(f'{path}:{n}: not a JSON object: {e}') from e
        if not isinstance(rec, dict) or 'step' not in rec:
            raise ValueError(f'{path}:{n}: expected a JSON object with a "step"')
        records.append(rec)
    return records


def load_work_dir(work_dir: str) -> List[dict]:
    """A work dir's records: the newest run, preceded by the steps of earlier runs
    that come before it (see the module docstring)."""
    merged: List[dict] = []
    for path in reversed(find_runs(work_dir)):
        records = read_scalars(path)
        if merged:
            # Training records carry 'iter'; validation ones may count epochs in
            # 'step', so only the former mark where the newer runs begin.
            train = [r for r in merged if 'iter' in r] or merged
            first = min(r['step'] for r in train)
            records = [r for r in records if r['step'] < first]
        merged = records + merged
    return merged


def scalar_series(records: Sequence[dict], key: str) -> Series:
    """Steps and values of the records that hold ``key``, in file order."""
    steps, values = [], []
    for r in records:
        if key in r and isinstance(r[key], (int, float)) and not isinstance(r[key], bool):
            steps.append(r['step'])
            values.append(float(r[key]))
    return steps, values


def default_keys(runs: Dict[str, Sequence[dict]]) -> List[str]:
    """Every numeric key of the runs except bookkeeping ones, in first-seen order."""
    keys: List[str] = []
    for records in runs.values():
        for r in records:
            for k, v in r.items():
                if (k not in keys and k not in BOOKKEEPING_KEYS
                        and isinstance(v, (int, float)) and not isinstance(v, bool)):
                    keys.append(k)
    return keys


def plot_scalars(runs: Dict[str, Sequence[dict]], keys: Optional[Sequence[str]] = None,
                 out: Optional[str] = None, dpi: float = 100.
                 ) -> Tuple[Figure, Dict[str, Dict[str, Series]]]:
    """One panel per key, one line per run, x = the logged ``step`` (the iteration
    for training scalars).

    Args:
        runs (dict): ``{label: records}`` (e.g. :func:`load_work_dir` per work dir).
        keys (sequence[str], optional): scalars to plot. Defaults to
            :func:`default_keys`.
        out (str, optional): PNG file to write.
        dpi (float): resolution of the figure.

    Returns:
        tuple: the figure and ``{key: {label: (steps, values)}}`` as plotted.

    Raises:
        KeyError: if a key is in none of the runs (the keys that are, named).
    """
    keys = list(keys) if keys else default_keys(runs)
    if not keys:
        raise KeyError('the runs hold no numeric scalar to plot')
    series: Dict[str, Dict[str, Series]] = {}
    for key in keys:
        series[key] = {label: scalar_series(records, key) for label, records in runs.items()}
        if not any(s[0] for s in series[key].values()):
            raise KeyError(f'no run logged {key!r}; logged keys: {default_keys(runs)}')
    cols = min(len(keys), 3)
    rows = -(-len(keys) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.0 * rows), dpi=dpi, layout='constrained')
    FigureCanvasAgg(fig)  # Agg, whatever pyplot's backend is
    for n, key in enumerate(keys):
        ax = fig.add_subplot(rows, cols, n + 1)
        for label, (steps, values) in series[key].items():
            if steps:
                ax.plot(steps, values, label=label, linewidth=1.2, marker='.' if len(steps) < 30
                        else None, markersize=4)
        ax.set_title(key, fontsize=10)
        ax.set_xlabel('iteration (step)', fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if len(runs) > 1:
            ax.legend(fontsize=7)
    if out is not None:
        folder = osp.dirname(osp.abspath(out))
        os.makedirs(folder, exist_ok=True)
        fig.savefig(out)
    return fig, series

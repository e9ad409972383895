"""Checks that stop a run at start, with the key named, instead of hours into it.

* :func:`check_config_arguments`: every hook, loop, optimizer (wrapper), scheduler,
  dataset, transform and model argument of a config against the signature of the
  class it builds. Building alone does not catch them all: classes that take
  ``**kwargs`` (mmengine's ``CheckpointHook`` passes them on to the save, so
  ``max_keep_ckpt=1`` fails only at the first save) accept any typo.
* :func:`sync_schedules`: ``--cfg-options train_cfg.max_epochs=N`` moves the
  schedulers that ended with the loop to the new length (mmengine's text configs
  resolve ``end=max_epochs`` when the file is parsed), and warns loudly about a
  schedule that ends before or after the loop.
"""
import importlib
import inspect
import math
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

# (config path, registry name); a path ending in '*' is a list or dict of configs.
SECTIONS: Tuple[Tuple[str, str], ...] = (
    ('default_hooks.*', 'HOOKS'),
    ('custom_hooks.*', 'HOOKS'),
    ('train_cfg', 'LOOPS'),
    ('val_cfg', 'LOOPS'),
    ('test_cfg', 'LOOPS'),
    ('optim_wrapper', 'OPTIM_WRAPPERS'),
    ('optim_wrapper.optimizer', 'OPTIMIZERS'),
    ('param_scheduler.*', 'PARAM_SCHEDULERS'),
    ('train_dataloader.dataset', 'DATASETS'),
    ('val_dataloader.dataset', 'DATASETS'),
    ('test_dataloader.dataset', 'DATASETS'),
    ('train_dataloader.sampler', 'DATA_SAMPLERS'),
    ('train_dataloader.dataset.pipeline.*', 'TRANSFORMS'),
    ('val_dataloader.dataset.pipeline.*', 'TRANSFORMS'),
    ('test_dataloader.dataset.pipeline.*', 'TRANSFORMS'),
    ('model', 'MODELS'),
    ('model.*', 'MODELS'),
)
# Keys that the builder consumes before the class sees the rest.
CONSUMED = {
    'OPTIM_WRAPPERS': {'type', 'optimizer', 'paramwise_cfg', 'constructor'},
    'OPTIMIZERS': {'type'},
    'LOOPS': {'type'},
    'PARAM_SCHEDULERS': {'type', 'convert_to_iter_based'},
    'DATASETS': {'type'},
}
# Arguments the builder usually passes itself: left out of the hint.
SUPPLIED = {'self', 'runner', 'optimizer', 'params', 'dataloader'}


def _registry(scope: Optional[str], name: str):
    for mod in (f'{scope}.registry' if scope else None, 'mmengine.registry'):
        if mod is None:
            continue
        try:
            return getattr(importlib.import_module(mod), name)
        except (ImportError, AttributeError):
            continue
    return None


def _kwargs_sinks() -> Dict[type, Set[str]]:
    """Classes whose ``**kwargs`` do not go up to a base ``__init__``, with the names
    that their sink accepts on top of the explicit ones."""
    from mmengine.hooks import CheckpointHook

    # CheckpointHook hands them to ``Runner.save_checkpoint``, which it already
    # calls with every argument that function has.
    return {CheckpointHook: set()}


def accepted_arguments(obj) -> Optional[Set[str]]:
    """Names a class (or function) accepts, following ``**kwargs`` up its bases.

    OpenMMLab classes pass ``**kwargs`` on to ``super().__init__``, so the names of
    every ``__init__`` up the MRO count, until one without ``**kwargs``. ``None`` when
    that cannot be known: a signature that cannot be read (C extensions), or
    ``**kwargs`` that go elsewhere (to a wrapped transform, say) rather than to a base
    ``__init__``; such objects are not checked.
    """
    funcs = ([k.__dict__['__init__'] for k in obj.__mro__ if '__init__' in k.__dict__]
             if inspect.isclass(obj) else [obj])
    names: Set[str] = set()
    for func in funcs:
        if func is object.__init__:
            # Reached through **kwargs that no base __init__ takes.
            sinks = [v for k, v in _kwargs_sinks().items() if issubclass(obj, k)]
            return names | sinks[0] if sinks else None
        try:
            params = inspect.signature(func).parameters.values()
        except (TypeError, ValueError):
            return None
        names |= {p.name for p in params
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names
    return None  # a function with **kwargs takes anything


def _walk(node: Any, parts: List[str], here: str) -> Iterator[Tuple[str, dict]]:
    if not parts:
        if isinstance(node, dict) and 'type' in node:
            yield here, node
        return
    head, rest = parts[0], parts[1:]
    if head == '*':
        items = (node.items() if isinstance(node, dict) else
                 enumerate(node) if isinstance(node, (list, tuple)) else ())
        for key, child in items:
            yield from _walk(child, rest, f'{here}.{key}' if here else str(key))
    elif isinstance(node, dict) and head in node:
        yield from _walk(node[head], rest, f'{here}.{head}' if here else head)


def _default_of(obj, name: str) -> Any:
    funcs = ([k.__dict__['__init__'] for k in obj.__mro__ if '__init__' in k.__dict__]
             if inspect.isclass(obj) else [obj])
    for func in funcs:
        try:
            param = inspect.signature(func).parameters.get(name)
        except (TypeError, ValueError):
            return None
        if param is not None:
            return None if param.default is param.empty else param.default
    return None


def check_config_arguments(cfg: Config, source: str,
                           overrides: Optional[Dict[str, Any]] = None) -> None:
    """Raise ``TypeError`` naming the key of any argument its class does not take.

    Objects whose type is not registered under the config's scope (or whose
    signature cannot be read) are skipped: the builder reports those itself.
    ``overrides`` (``--cfg-options``) that add an argument are also checked against
    the kind of its default (``save_last=maybe`` where the default is ``True``), and
    raise ``ValueError``.
    """
    tree = cfg.to_dict()
    scope = tree.get('default_scope')
    problems = []
    for path, registry_name in SECTIONS:
        for key, node in _walk(tree, path.split('.'), ''):
            typ = node['type']
            registry = _registry(node.get('_scope_', scope), registry_name)
            obj = typ if not isinstance(typ, str) else (
                registry.get(typ) if registry is not None else None)
            if obj is None:
                continue
            names = accepted_arguments(obj)
            if names is None:
                continue
            allowed = names | CONSUMED.get(registry_name, {'type'}) | {'_scope_'}
            for arg in node:
                if f'{key}.{arg}' in (overrides or {}):
                    check_override_types({arg: _default_of(obj, arg)},
                                         {arg: node[arg]}, source, f'{key}.{arg}')
                if arg not in allowed:
                    hint = ', '.join(sorted(n for n in names - SUPPLIED if not n.startswith('_')))
                    problems.append(f'{key}.{arg}: {getattr(obj, "__name__", typ)} takes no '
                                    f'argument {arg!r} (it takes: {hint})')
    if problems:
        raise TypeError(f'config {source} has arguments that nothing takes:\n  ' +
                        '\n  '.join(problems))


def _loop_length(train_cfg: dict) -> Tuple[Optional[str], Optional[int]]:
    if 'max_epochs' in train_cfg:
        return 'epochs', train_cfg['max_epochs']
    if 'max_iters' in train_cfg:
        return 'iters', train_cfg['max_iters']
    return None, None


def _schedulers(cfg: Config) -> List[dict]:
    sched = cfg.get('param_scheduler')
    if sched is None:
        return []
    return list(sched) if isinstance(sched, (list, tuple)) else [sched]


def _unit(sched: dict) -> str:
    return 'epochs' if sched.get('by_epoch', True) else 'iters'


def sync_schedules(cfg: Config, original: Config, source: str) -> None:
    """Give the schedulers the loop length of ``cfg`` where ``original`` had them end
    with the loop; then warn about any schedule that still ends off the loop.

    A scheduler that ended where the loop ended (``end`` equal to ``max_epochs`` of
    the same unit) ends at the new length; a cosine ``T_max`` spanning its whole range
    follows. Warm-ups and other schedulers that ended earlier keep their length.
    One that would begin at or after the new end is left as it is, with a warning.
    """
    unit, new_len = _loop_length(cfg.get('train_cfg') or {})
    old_unit, old_len = _loop_length(original.get('train_cfg') or {})
    if unit is None:
        return
    if unit == old_unit and old_len is not None and new_len != old_len:
        for i, sched in enumerate(_schedulers(cfg)):
            if _unit(sched) != unit or sched.get('end') != old_len:
                continue
            begin = sched.get('begin', 0)
            if begin >= new_len:
                print_log(f'!!! param_scheduler.{i} ({sched.get("type")}) of config {source} '
                          f'begins at {begin} {unit}, where the loop (train_cfg.max_{unit}='
                          f'{new_len}) has already ended: it never runs', logger='current',
                          level=30)
                continue
            if sched.get('T_max') == old_len - begin:
                sched['T_max'] = new_len - begin
            sched['end'] = new_len
            print_log(f'param_scheduler.{i} ({sched.get("type")}) now ends with the loop at '
                      f'{new_len} {unit} (the config had {old_len})', logger='current')
    ends = [s.get('end') for s in _schedulers(cfg) if _unit(s) == unit]
    ends = [e for e in ends if e is not None and not math.isinf(e)]
    if ends and max(ends) != new_len:
        print_log(
            f'!!! The schedules of config {source} end at {max(ends)} {unit} but the loop '
            f'runs {new_len} {unit}: the lr (or other scheduled value) '
            + ('never reaches its final value' if max(ends) > new_len else
               'stays constant after the schedule ends') + '. Set param_scheduler.N.end to '
            'the loop length if that is not what you want.', logger='current', level=30)


def check_override_types(tree: Dict[str, Any], options: Dict[str, Any], source: str,
                         name: Optional[str] = None) -> None:
    """Refuse an override whose value is not of the kind the config holds there
    (``lr=1e-3x``, ``max_epochs=one``); ``name`` is the key to report, if not the
    option's own."""
    for key, value in options.items():
        node: Any = tree
        for part in key.split('.'):
            if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                node = None
                break
        if node is None or value is None:  # None unsets a value: always allowed
            continue
        number = (int, float)
        if isinstance(node, bool) and not isinstance(value, bool):
            want = 'True or False'
        elif isinstance(node, number) and not isinstance(node, bool) and (
                isinstance(value, bool) or not isinstance(value, number)):
            want = 'a number'
        else:
            continue
        raise ValueError(f'--cfg-options {name or key}={value!r}: config {source} holds '
                         f'{node!r} there (or as the default), so the value must be {want}')

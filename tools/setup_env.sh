#!/usr/bin/env bash
# One-command, idempotent environment setup for mgc_mm on a fresh Python >= 3.9 machine.
#
# Installs into the active Python (a venv if one is active):
#   * torch + torchvision (torch==2.14.1 / torchvision==0.29.1 when no torch is present;
#     an existing torch is kept as it is);
#   * mmcv 2.1.0 built from its sdist with the compiled ops (mmdet 3.3 and mmseg 1.2
#     refuse mmcv >= 2.2). The wheel is cached outside the repository, keyed by the
#     Python and torch versions, so only the very first setup on a machine pays the
#     ~25-35 min CPU build; every later setup installs the cached wheel in seconds;
#   * mmengine, mmpretrain 1.2, mmdet 3.3, mmsegmentation 1.2, mmpose 1.3 (without its
#     uninstallable chumpy requirement; xtcocotools built against the local NumPy);
#   * mgc_mm itself in editable mode, plus the test requirements.
#
# Environment knobs:
#   MGC_MM_CACHE   where built wheels are kept (default: ~/.cache/mgc_mm)
#   MAX_JOBS       parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python}"
PIP=("$PY" -m pip --disable-pip-version-check)
CACHE="${MGC_MM_CACHE:-$HOME/.cache/mgc_mm}"
MMCV_VERSION=2.1.0
# Import checks below must not see the checkout through the current directory.
cd "${TMPDIR:-/tmp}"

log() { printf '[setup_env] %s\n' "$*"; }
have() { "$PY" - "$@" <<'EOF' >/dev/null 2>&1
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
EOF
}

# 1. Build tooling. mmcv, mmengine's `mmdet::` config bases and mmcv's setup.py need
#    pkg_resources at run time, which setuptools >= 81 no longer ships.
if ! "$PY" -c 'import pkg_resources, setuptools, wheel, Cython, numpy; import sys; from packaging.version import Version as V; sys.exit(V(setuptools.__version__) >= V("81"))' >/dev/null 2>&1; then
  log "installing build tooling"
  "${PIP[@]}" install -q 'setuptools<81' wheel ninja cython numpy packaging
fi

# 2. torch and a matching torchvision (mmpretrain imports torchvision at import time).
if ! have torch torchvision; then
  if have torch; then
    log "torch present without torchvision: installing the matching torchvision"
    TV=$("$PY" - <<'EOF'
import torch
major, minor = (int(p) for p in torch.__version__.split('+')[0].split('.')[:2])
print(f'0.{minor + 15}.*' if major == 2 else '')
EOF
)
    "${PIP[@]}" install -q "torchvision==${TV}"
  else
    log "no torch found: installing torch==2.14.1 torchvision==0.29.1"
    "${PIP[@]}" install -q torch==2.14.1 torchvision==0.29.1 'setuptools<81'
  fi
fi

# 3. mmcv with compiled ops, from a wheel cached per (python, torch) pair.
if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" >/dev/null 2>&1; then
  KEY=$("$PY" -c 'import sys, torch; dev = "cuda" if torch.cuda.is_available() else "cpu"; print(f"py{sys.version_info[0]}{sys.version_info[1]}-torch{torch.__version__}-{dev}".replace("+", "_"))')
  WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-$KEY"
  mkdir -p "$WHEEL_DIR"
  if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    log "building mmcv $MMCV_VERSION with ops for $KEY (first setup only, ~11-15 min on 2 cores)"
    BUILD="$(mktemp -d)"
    trap 'rm -rf "$BUILD"' EXIT
    # No build isolation: an isolated env would get setuptools >= 81, whose missing
    # pkg_resources breaks mmcv's setup.py already while pip reads its metadata.
    "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation \
      "mmcv==$MMCV_VERSION" -d "$BUILD"
    tar -xzf "$BUILD/mmcv-$MMCV_VERSION.tar.gz" -C "$BUILD"
    SRC="$BUILD/mmcv-$MMCV_VERSION"
    # torch >= 2.13 headers refuse C++17; ask for C++20 instead.
    if "$PY" -c 'import torch, sys; v = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2]); sys.exit(v < (2, 13))'; then
      sed -i "s/-std=c++17/-std=c++20/g; s#/std:c++17#/std:c++20#g" "$SRC/setup.py"
    fi
    (cd "$SRC" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "${PIP[@]}" wheel -q --no-build-isolation --no-deps -w "$BUILD/dist" .)
    # Move into place only once complete, so an interrupted build never leaves a
    # half-written wheel in the cache.
    cp "$BUILD"/dist/mmcv-*.whl "$WHEEL_DIR/.tmp.whl"
    mv "$WHEEL_DIR/.tmp.whl" "$WHEEL_DIR/$(basename "$BUILD"/dist/mmcv-*.whl)"
  fi
  log "installing cached mmcv wheel from $WHEEL_DIR"
  "${PIP[@]}" install -q "$WHEEL_DIR"/mmcv-*.whl
fi

# 4. OpenMMLab libraries. mmpose is installed without its dependencies because chumpy
#    does not install; its real needs are listed in requirements/mminstall.txt.
if ! have mmengine mmpretrain mmdet mmseg mmpose xtcocotools pycocotools; then
  log "installing OpenMMLab libraries"
  if ! have xtcocotools; then
    # Built from source so that it matches the installed NumPy (2.x has no binary).
    "${PIP[@]}" install -q --no-build-isolation --no-binary xtcocotools 'xtcocotools>=1.12'
  fi
  "${PIP[@]}" install -q -r "$ROOT/requirements/mminstall.txt" 'setuptools<81'
  "${PIP[@]}" install -q --no-deps 'mmpose>=1.3.0,<1.4.0'
fi

# 5. mgc_mm itself and the test requirements.
if ! "$PY" -c 'import mgc_mm, pytest, pytest_timeout, timm, matplotlib, tensorboard' >/dev/null 2>&1 \
   || ! "$PY" -c "import mgc_mm, os, sys; sys.exit(os.path.dirname(os.path.dirname(mgc_mm.__file__)) != '$ROOT')" >/dev/null 2>&1; then
  log "installing mgc_mm (editable) and test requirements"
  "${PIP[@]}" install -q -r "$ROOT/requirements/tests.txt" 'setuptools<81'
  "${PIP[@]}" install -q --no-build-isolation --no-deps -e "$ROOT"
fi

"$PY" - <<'EOF'
import torch, torchvision, mmcv, mmcv.ops, mmengine, mmpretrain, mmdet, mmseg, mmpose, mgc_mm
print(f'[setup_env] ready: torch {torch.__version__}, torchvision {torchvision.__version__}, '
      f'mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, mmpretrain {mmpretrain.__version__}, '
      f'mmdet {mmdet.__version__}, mmseg {mmseg.__version__}, mmpose {mmpose.__version__}, '
      f'mgc_mm {mgc_mm.__version__}')
EOF

#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args]
# Multi-node: run on every node with NNODES, NODE_RANK, MASTER_ADDR and PORT set.
exec bash "$(dirname "$0")/dist_run.sh" train.py "$2" "$1" "${@:3}"

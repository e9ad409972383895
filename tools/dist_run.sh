#!/usr/bin/env bash
# Usage: tools/dist_run.sh SCRIPT GPUS [script args]: run tools/SCRIPT on GPUS processes of
# this node with torchrun (PyTorch DDP through mmengine's launcher). Multi-node: run it on
# every node with NNODES, NODE_RANK, MASTER_ADDR and PORT set.
set -e
SCRIPT=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
python -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/$SCRIPT" \
    "${@:3}" \
    --launcher pytorch

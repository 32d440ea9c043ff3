#!/usr/bin/env bash
# Data-parallel `rankwise train` on several machines with Slurm: one torchrun per node,
# each starting one process per GPU; the first node of the allocation hosts the
# rendezvous. Submit with:  sbatch examples/slurm-train.sh configs/mslr-web30k-neuralndcg.yaml
#
# Every node needs the same rankwise environment and the data at the same path; the run
# directory (output_dir in the config) must be on a shared file system: rank 0 writes it,
# and a resume (--resume, with any number of processes) reads its last checkpoint.
#SBATCH --job-name=rankwise
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=32
#SBATCH --time=12:00:00
set -euo pipefail
CONFIG=${1:?usage: sbatch examples/slurm-train.sh CONFIG.yaml [rankwise train flags]}
shift
HEAD=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
srun torchrun \
  --nnodes "$SLURM_NNODES" \
  --nproc-per-node "${SLURM_GPUS_ON_NODE:-1}" \
  --rdzv-id "$SLURM_JOB_ID" \
  --rdzv-backend c10d \
  --rdzv-endpoint "$HEAD:29500" \
  --no-python rankwise train "$CONFIG" "$@"

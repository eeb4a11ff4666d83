#!/bin/sh
# bench/bench_mpi.sh - `make bench-mpi`: bench_mpi (see bench_mpi.c) over 2 to 65
# oversubscribed ranks on this machine (1 to 64 simulated workers), then how
# many workers one rank 0 could keep busy with real children, from its
# bookkeeping cost per trial at the largest run.
#   bench/bench_mpi.sh BENCH_BIN [SLEEP_MS [TRIALS_PER_WORKER [RANKS...]]]
# A benchmark: it never fails on a timing. Say whether the machine was shared.
set -eu
bin=$1
sleep_ms=${2:-1000}
per=${3:-10}
shift $(( $# < 3 ? $# : 3 ))
ranks=${*:-2 3 5 9 17 33 65}
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
echo "child: sleeps $sleep_ms ms; $per trials per worker; multitask search, paper space, 8 modules"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ranks workers trials sleep_ms   wall_s  trials/s   ideal/s  of_ideal  busy_ms/tr  cpu_ms/tr"
out=$(mktemp)
for k in $ranks; do
  mpirun -n "$k" --oversubscribe "$bin" "$sleep_ms" "$per" multitask | tee -a "$out"
done
# rank 0's cost per trial at the largest run -> workers one rank 0 keeps busy
# at 90% of its time, for children of 1 s, 10 s and 60 s
tail -n 1 "$out" | awk '{ c = $9 / 1000; if (c <= 0) exit;
  printf "rank 0 bookkeeping: %.3f ms busy (%.3f ms CPU with polling) per trial at %d workers\n", $9, $10, $2;
  printf "workers one rank 0 keeps busy (90%% of its time): %d with 1 s children, %d with 10 s, %d with 60 s\n",
         0.9 * 1 / c, 0.9 * 10 / c, 0.9 * 60 / c }'
echo "machine after: load average $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$out"

#!/bin/sh
# fuzz/long.sh BUILD SECONDS [NAME...] - `make fuzz-long`: every fuzz target
# built for libFuzzer (BUILD/fuzz/lf_NAME, by the Makefile) runs SECONDS of
# wall time (fuzz_ctrl, which holds two parsers - search spaces and
# controller checkpoints, chosen by its first byte - runs twice as long),
# FUZZ_JOBS at a time (default 2, the machine's cores), each on a scratch copy of its
# corpus (fuzz/corpus/NAME is only read: new inputs stay in BUILD/fuzz-long/),
# crashes and leaks kept as BUILD/fuzz-long/NAME/crash-* etc. Prints, and
# writes to BUILD/fuzz-long/summary.md, a table: target, seconds, inputs run,
# coverage (libFuzzer's cov: edges), corpus size at the end, crashes.
set -eu
BUILD=$1
SECONDS_EACH=$2
shift 2
NAMES=${*:-"task module config ctrl study model wire cnn"}
OUT=$BUILD/fuzz-long
mkdir -p "$OUT"
run_one() {
    name=$1
    secs=$SECONDS_EACH
    [ "$name" = ctrl ] && secs=$((2 * SECONDS_EACH))
    dir=$OUT/$name
    rm -rf "$dir"
    mkdir -p "$dir/corpus"
    cp fuzz/corpus/"$name"/* "$dir/corpus/" 2>/dev/null || true
    # -rss_limit_mb: the targets build small studies and modules in memory;
    # 4 GB leaves room under ASan without letting a leak take the machine
    (cd "$dir" && "../../fuzz/lf_$name" -max_total_time="$secs" -print_final_stats=1 \
        -rss_limit_mb=4096 -artifact_prefix=./ corpus > log.txt 2>&1) || true
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log.txt" | awk '{print $2}' | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$dir/log.txt" | tail -n 1 | awk '{print $2}')
    size=$(ls "$dir/corpus" | wc -l)
    crashes=$(ls "$dir" | grep -c -E '^(crash|leak|timeout|oom)-' || true)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$secs" "${runs:-?}" "${cov:-?}" "$size" "$crashes" > "$dir/row.md"
}
# FUZZ_JOBS at a time (1 or 2: the machine's cores; 2 unless told)
JOBS=${FUZZ_JOBS:-2}
set -- $NAMES
while [ $# -gt 0 ]; do
    a=$1; shift
    run_one "$a" &
    pa=$!
    if [ "$JOBS" -gt 1 ] && [ $# -gt 0 ]; then b=$1; shift; run_one "$b" & pb=$!; wait $pb; fi
    wait $pa
done
{
    echo "| target | seconds | inputs run | coverage (edges) | corpus at the end | crashes |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    for n in $NAMES; do cat "$OUT/$n/row.md"; done
} > "$OUT/summary.md"
cat "$OUT/summary.md"
if grep -q '| [1-9][0-9]* |$' "$OUT/summary.md"; then
    echo "fuzz-long: crashes found: see $OUT/*/crash-* and log.txt" >&2
    exit 1
fi

#!/bin/sh
# examples/objective.sh - a shell objective for `taml search --objective`,
# with a known optimum (tests/test_objective_cli.c uses it):
#
#   taml search --study s.db --task left --task right --method multitask \
#       --trials 40 --space examples/objective_space.json \
#       --objective examples/objective.sh
#
# It reads the trial's config ({"x": X, "y": Y}) on stdin and prints
# {"valid": V, "test": T}: V = 1 - ((X - a)^2 + (Y - b)^2) / 162, whose
# optimum (1 at X = a, Y = b) depends on the task ($TAML_TASK): left
# (a, b) = (7, 2), right (3, 8); test is V rounded to a tenth.
set -eu
read -r config
x=$(printf '%s' "$config" | sed -n 's/.*"x":\([0-9.-]*\).*/\1/p')
y=$(printf '%s' "$config" | sed -n 's/.*"y":\([0-9.-]*\).*/\1/p')
case ${TAML_TASK:-} in
  left) a=7 b=2 ;;
  right) a=3 b=8 ;;
  *) echo "objective.sh: unknown task '${TAML_TASK:-}' (left or right)" >&2; exit 2 ;;
esac
awk -v x="$x" -v y="$y" -v a="$a" -v b="$b" 'BEGIN {
  v = 1 - ((x - a) ^ 2 + (y - b) ^ 2) / 162
  printf "{\"valid\": %.6f, \"test\": %.1f}\n", v, v
}'

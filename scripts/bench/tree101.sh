#!/bin/sh
# The bench's TERM-respecting tree of 101 processes: this shell, 10 shells under it and 9
# sleepers under each. Nothing is trapped, so SIGTERM ends every member. One line per
# member, "pid <role> <pid>" (101 lines), then each waits.
echo "pid root $$"
i=0
while [ $i -lt 10 ]; do
  sh -c 'echo "pid mid $$"; j=0; while [ $j -lt 9 ]; do sleep 300 & echo "pid leaf $!"; j=$((j+1)); done; wait' &
  i=$((i+1))
done
wait

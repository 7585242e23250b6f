#!/usr/bin/env bash
# Lints every template and checks every guard rule, by hand or from scripts/test.
#   CFN_LINT  (default: .venv/bin/cfn-lint)   CFN_GUARD (default: .venv/tools/bin/cfn-guard)
# Exit 0 only if:
#   - cfn-lint reports nothing (no error, no warning) for us-east-1 and us-west-1;
#   - every rule PASSes or SKIPs on every template in stacks/;
#   - every rule FAILs on each of its fixtures/<rule>-violation*.yaml and
#     PASSes/SKIPs on fixtures/<rule>-pass.yaml.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
# Defaults: the tools scripts/test installs. Relative paths are taken from
# where this is run, before changing into stacks/.
CFN_LINT=${CFN_LINT:-$root/.venv/bin/cfn-lint}
CFN_GUARD=${CFN_GUARD:-$root/.venv/tools/bin/cfn-guard}
case $CFN_LINT in /*) ;; */*) CFN_LINT=$PWD/$CFN_LINT ;; esac
case $CFN_GUARD in /*) ;; */*) CFN_GUARD=$PWD/$CFN_GUARD ;; esac
cd "$here"
status=0

echo "== cfn-lint $($CFN_LINT --version 2>&1)"
if ! $CFN_LINT --regions us-east-1 us-west-1 -- ./*.yaml; then
  echo "cfn-lint: findings above"; status=1
fi

guard_status() { # rule data -> PASS|FAIL|SKIP|ERROR
  local out
  out=$($CFN_GUARD validate -r "$1" -d "$2" --show-summary all 2>&1)
  case "$out" in
    *"Status = FAIL"*) echo FAIL ;;
    *"Status = PASS"*) echo PASS ;;
    *"Status = SKIP"*) echo SKIP ;;
    *) echo ERROR ;;
  esac
}

echo "== $($CFN_GUARD --version 2>&1)"
for rule in rules/*.guard; do
  name=$(basename "$rule" .guard)
  for t in ./*.yaml; do
    s=$(guard_status "$rule" "$t")
    case $s in PASS|SKIP) ;; *) echo "$name on $t: $s (want PASS or SKIP)"; status=1 ;; esac
  done
  found=0
  for f in rules/fixtures/"$name"-violation*.yaml; do
    [ -e "$f" ] || continue
    found=1
    s=$(guard_status "$rule" "$f")
    [ "$s" = FAIL ] || { echo "$name on $f: $s (want FAIL)"; status=1; }
  done
  [ $found = 1 ] || { echo "$name: no violation fixture"; status=1; }
  f=rules/fixtures/"$name"-pass.yaml
  if [ -e "$f" ]; then
    s=$(guard_status "$rule" "$f")
    case $s in PASS|SKIP) ;; *) echo "$name on $f: $s (want PASS or SKIP)"; status=1 ;; esac
  fi
done
[ $status = 0 ] && echo "stacks: all checks passed"
exit $status

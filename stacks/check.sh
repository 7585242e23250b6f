#!/usr/bin/env bash
# Lints every template and checks every guard rule, by hand or from scripts/test.
#   CFN_LINT  (default: .venv/bin/cfn-lint)   CFN_GUARD (default: .venv/tools/bin/cfn-guard)
# Exit 0 only if (the same checks as tests/stacks_policy.rs, per named rule,
# read from cfn-guard's --show-summary all):
#   - cfn-lint reports nothing (no error, no warning) for us-east-1 and us-west-1;
#   - no named rule FAILs on a template in stacks/, and each PASSes (not only
#     SKIPs) on at least one;
#   - each fixtures/<file>-violation-<what>.yaml makes exactly the named rules
#     on its "# violates:" line(s) FAIL, and every named rule is declared by one;
#   - on fixtures/<file>-pass[-<what>].yaml nothing FAILs and something PASSes.
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

summary() { # rule data -> "<named rule> PASS|FAIL|SKIP" lines from cfn-guard's summary
  $CFN_GUARD validate -r "$1" -d "$2" --show-summary all 2>/dev/null |
    awk -v p="$(basename "$1")/" '
      / Status = / { on = 1; next }
      on && $0 == "---" { exit }
      on && index($0, p) == 1 && NF == 2 { print substr($1, length(p) + 1), $2 }'
}
named_rules() { # rule file -> its named rules (not parameterized helpers)
  awk '$1 == "rule" && $2 !~ /\(/ && $3 !~ /^\(/ { n = $2; sub(/\{.*/, "", n); print n }' "$1"
}
declared() { # violation fixture -> the named rules on its "# violates:" lines
  sed -n 's/^# violates://p' "$1" | tr ',' ' ' | xargs -n1 2>/dev/null
}
fail() { echo "$*"; status=1; }

echo "== $($CFN_GUARD --version 2>&1)"
for rule in rules/*.guard; do
  file=$(basename "$rule" .guard)
  names=$(named_rules "$rule" | sort)
  [ -n "$names" ] || fail "$file: no named rule"
  passed=""
  for t in ./*.yaml; do
    out=$(summary "$rule" "$t")
    [ "$(echo "$out" | cut -d' ' -f1 | sort)" = "$names" ] || fail "$file on $t: summary does not list exactly the named rules"
    while read -r r s; do
      case $s in
        FAIL) fail "$file/$r FAILs on $t" ;;
        PASS) passed="$passed $r" ;;
      esac
    done <<< "$out"
  done
  for n in $names; do
    case " $passed " in *" $n "*) ;; *) fail "$file/$n PASSes on no template (SKIP everywhere)" ;; esac
  done
  targeted=""
  for f in rules/fixtures/"$file"-violation-*.yaml; do
    [ -e "$f" ] || continue
    want=$(declared "$f")
    [ -n "$want" ] || fail "$f: no '# violates: <named rule>' line"
    out=$(summary "$rule" "$f")
    [ -n "$out" ] || fail "$f: no cfn-guard summary"
    for d in $want; do
      case " $(echo $names) " in *" $d "*) ;; *) fail "$f: declares $d, not a rule of $file.guard" ;; esac
      [ "$(echo "$out" | awk -v r="$d" '$1 == r { print $2 }')" = FAIL ] || fail "$f: $file/$d does not FAIL"
      targeted="$targeted $d"
    done
    for r in $(echo "$out" | awk '$2 == "FAIL" { print $1 }'); do
      case " $(echo $want) " in *" $r "*) ;; *) fail "$f: $file/$r FAILs but is not declared" ;; esac
    done
  done
  for n in $names; do
    case " $targeted " in *" $n "*) ;; *) fail "$file/$n: no violation fixture declares it" ;; esac
  done
  found=0
  for f in rules/fixtures/"$file"-pass.yaml rules/fixtures/"$file"-pass-*.yaml; do
    [ -e "$f" ] || continue
    found=1
    out=$(summary "$rule" "$f")
    echo "$out" | grep -q ' FAIL$' && fail "$f: a rule FAILs on a pass fixture"
    echo "$out" | grep -q ' PASS$' || fail "$f: no rule PASSes on a pass fixture"
  done
  [ $found = 1 ] || fail "$file: no pass fixture"
done
for f in rules/fixtures/*.yaml; do
  b=$(basename "$f" .yaml) ok=0
  for rule in rules/*.guard; do
    file=$(basename "$rule" .guard)
    case $b in "$file"-violation-*|"$file"-pass|"$file"-pass-*) ok=1 ;; esac
  done
  [ $ok = 1 ] || fail "$f: not <rule file>-violation-<what> or <rule file>-pass[-<what>]"
done
[ $status = 0 ] && echo "stacks: all checks passed"
exit $status

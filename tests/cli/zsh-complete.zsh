#!/usr/bin/env zsh
# zsh-complete.zsh FPATH_DIR LINE: the matches zsh's completion offers for
# LINE (as if TAB were pressed at its end), one per line, from a real
# interactive zsh on a pseudo-terminal (zsh/zpty) with compinit and the
# completion functions of FPATH_DIR.
#
# How: in that shell, compadd is wrapped so that each call also collects
# the matches it would add (builtin compadd -O, which applies zsh's own
# matching against what is typed) and prints them between markers; once
# the completion is done, comppostfuncs ends the shell, and we read what
# the terminal showed until it closes.
emulate -L zsh
zmodload zsh/zpty || { print -u2 "no zsh/zpty"; exit 2 }
local dir=$1 line=$2 init=${TMPDIR:-/tmp}/zsh-complete.$$.zsh
cat >$init <<INIT
PROMPT='> '
fpath=(${(q)dir} \$fpath)
autoload -Uz compinit && compinit -u -d ${(q)init}.dump
unsetopt beep
compadd() {
  # Calls that only compute (-O, -A, -D) are zsh's own: pass them on.
  if [[ \${@[1,(i)--]} == *-(O|A|D)\ * ]]; then
    builtin compadd "\$@"
    return
  fi
  local -a __got
  builtin compadd -O __got "\$@"
  local m
  for m in \$__got; do print -r -- "<<\${(Q)m}>>"; done
  builtin compadd "\$@"
}
comppostfuncs=(exit)
INIT
zpty z zsh -f -i
zpty -w z "source ${(q)init}"
zpty -w -n z "$line"$'\t'
local out chunk
while zpty -r z chunk; do out+=$chunk; done
zpty -d z
rm -f $init $init.dump
# A match may follow the echoed line on the same terminal line.
print -r -- ${out//$'\r'/} | grep -o '<<[^<>]*>>' | sed 's/^<<\(.*\)>>$/\1/'

#!/usr/bin/env bash
# Print Qt's system libraries from packaging/linux/qt-system-libraries.txt,
# one package name a line, for apt-get install and for documentation:
#
#   packaging/linux/list-system-libraries.sh        the first of each "a | b"
#   packaging/linux/list-system-libraries.sh --apt  the first alternative this
#                                                   system's apt knows
#
# Version constraints are dropped (apt-get install takes names). With --apt,
# an entry none of whose names apt knows prints its first name, so that
# apt-get names the missing package instead of it being skipped silently.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
list=$here/qt-system-libraries.txt
ask_apt=0
case ${1:-} in
    "") ;;
    --apt) ask_apt=1 ;;
    *) echo "usage: $0 [--apt]" >&2; exit 2 ;;
esac

sed -e 's/#.*//' "$list" | while IFS= read -r entry; do
    [[ $entry =~ [^[:space:]] ]] || continue
    IFS='|' read -ra alternatives <<<"$entry"
    names=()
    for alternative in "${alternatives[@]}"; do
        names+=("$(sed -e 's/([^)]*)//' -e 's/[[:space:]]//g' <<<"$alternative")")
    done
    chosen=${names[0]}
    if [[ $ask_apt == 1 ]]; then
        for name in "${names[@]}"; do
            # A real package has a Version: field; a purely virtual one has none.
            if apt-cache show --no-all-versions "$name" 2>/dev/null | grep -q '^Version:'; then
                chosen=$name
                break
            fi
        done
    fi
    echo "$chosen"
done

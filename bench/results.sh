# Sourced by the bench scripts: every run writes its table to
# bench/results/DATE-NAME.md (a new file per run: DATE-NAME-2.md, ... on
# the same day), with what the figures depend on: the command, berth's
# commit, the machine, the peers' versions and the load average before and
# after (the machines here are shared: a figure taken under load says so).
# The README's and docs' figures quote these files; commit the ones they
# quote. BENCH_RESULTS=DIR writes elsewhere.
#
#   results_open NAME COMMAND   at the start (inside the lab)
#   results_note TEXT           a line about the run (peer version, driver...)
#   ... | results_table         the table: printed, and kept in the file
RESULTS_DIR=${BENCH_RESULTS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/results}
RESULTS_FILE=
results_open() {
    local name=$1 cmd=${2% } day n=2 repo
    day=$(date +%F)
    mkdir -p "$RESULTS_DIR"
    RESULTS_FILE=$RESULTS_DIR/$day-$name.md
    while [ -e "$RESULTS_FILE" ]; do RESULTS_FILE=$RESULTS_DIR/$day-$name-$n.md; n=$((n + 1)); done
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    # root runs this in a checkout owned by someone else: tell git it is fine.
    local commit
    commit=$(git -c safe.directory='*' -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)
    {
        echo "# $name: $(date -u '+%F %H:%M UTC')"
        echo
        echo "- command: \`sudo $cmd\`"
        if [ -n "${BERTH:-}" ] && [ "$BERTH" != "$repo/target/release/berth" ]; then
            echo "- berth: $BERTH (BERTH=; the checkout running the scripts is at $commit)"
        else
            echo "- berth: commit $commit, release build (\`cargo build --release --locked\`)"
        fi
        echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
        echo "- load average (1, 5, 15 min) at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
    } >"$RESULTS_FILE"
    echo "results: $RESULTS_FILE" >&2
}
results_note() {
    [ -n "$RESULTS_FILE" ] && echo "- $*" >>"$RESULTS_FILE"
    return 0
}
results_table() {
    local table
    table=$(cat)
    printf '%s\n' "$table"
    [ -n "$RESULTS_FILE" ] || return 0
    {
        echo "- load average (1, 5, 15 min) at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo
        echo '```'
        printf '%s\n' "$table"
        echo '```'
    } >>"$RESULTS_FILE"
}

# results_block TITLE: stdin (a profile, a listing) printed and kept in
# the results file as a code block under TITLE.
results_block() {
    local text
    text=$(cat)
    printf '%s\n%s\n' "$1" "$text"
    [ -n "$RESULTS_FILE" ] || return 0
    {
        echo
        echo "$1"
        echo
        echo '```'
        printf '%s\n' "$text"
        echo '```'
    } >>"$RESULTS_FILE"
}

# perf_flat FILE COMM: where COMM's samples in perf data FILE went, flat
# (no call graphs): first by object (the kernel, berth, libc, the dynamic
# loader...), then by symbol; relative shares, entries >= 1.5%.
perf_flat() {
    echo "by object:"
    perf report -q -i "$1" --comm "$2" --no-children --sort dso,sym --percentage relative \
        --stdio 2>/dev/null | awk '
        $3 == "[k]" { o["the kernel"] += $1 }
        $3 == "[.]" { o[$2] += $1 }
        END { for (k in o) printf "%8.2f%%  %s\n", o[k], k }' | sort -rn | head -n 8
    echo "by symbol:"
    perf report -q -i "$1" --comm "$2" --no-children --sort dso,sym --percentage relative \
        --percent-limit 1.5 --stdio 2>/dev/null | sed '/^$/d' | head -n 25
}

# ab_table DIR SAMPLES "METRIC=LABEL"...: the table of an A/B run
# (bench/ab.sh, bench/ab-detach.sh) from DIR/all ("old|new METRIC µs"
# lines): for each METRIC, both binaries' medians (ms), new/old, and the
# median of new/old over the pairs of samples taken one right after the
# other (the k-th of each), robust to the load drifting.
ab_table() {
    local dir=$1 samples=$2 m o n pair
    shift 2
    awk '$1 == "old" {print $2, $3}' "$dir/all" >"$dir/old"
    awk '$1 == "new" {print $2, $3}' "$dir/all" >"$dir/new"
    ab_med() { awk -v m="$1" '$1 == m {print $2}' "$dir/$2" | sort -n | awk '{a[NR]=$1} END {x = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.2f", x/1000}'; }
    ab_paired() {
        paste <(awk -v m="$1" '$1 == m {print $2}' "$dir/old") <(awk -v m="$1" '$1 == m {print $2}' "$dir/new") |
            awk '{print $2 / $1}' | sort -g | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'
    }
    printf '%-34s %9s %9s %8s %8s\n' "metric (median of $samples, ms)" old new new/old paired
    for pair in "$@"; do
        m=${pair%%=*}
        o=$(ab_med "$m" old); n=$(ab_med "$m" new)
        printf '%-34s %9s %9s %8s %8s\n' "${pair#*=}" "$o" "$n" "$(awk -v o="$o" -v n="$n" 'BEGIN{printf "%.2f", n/o}')" "$(ab_paired "$m")"
    done
}

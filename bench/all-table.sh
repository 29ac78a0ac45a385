# Sourced by bench/all.sh: write_all prints the combined Markdown file from
# the result files the benchmarks wrote under $W/results/NAME/ (see
# bench/results.sh for their layout: a header of "- " lines, then the
# table between ``` lines).

# table_rows BENCH FILE: one Markdown row per line of FILE's table. Columns
# in the text tables are separated by 2+ spaces; a line starting with
# "metric" names them, and each figure is then labelled with its column.
# Stops at the first blank line (raw rounds follow in some files); the
# soak's series (one line per checkpoint) and cni-phases' breakdown (the
# indented lines) are left to their own files; a caption is in italics.
table_rows() {
    awk -v bench="$1" '
        function cell(s) { gsub(/\|/, "\\|", s); gsub(/^ +| +$/, "", s); return s }
        /^```/ { inside = !inside; if (!inside) exit; next }
        !inside { next }
        /^[[:space:]]*$/ { exit }
        bench == "soak" && /^(cli|cni|phase) / { next }
        bench == "cni-phases" && /^  / { next }
        {
            n = split($0, f, /  +/)
            if (f[1] == "") { for (i = 1; i < n; i++) f[i] = f[i + 1]; n-- }
            if (f[1] ~ /^metric/) { nh = n; for (i = 2; i <= n; i++) h[i] = f[i]; next }
            figs = ""
            for (i = 2; i <= n; i++) {
                v = cell(f[i]); if (v == "") continue
                lab = (nh == n && h[i] != "" && h[i] != "value") ? cell(h[i]) ": " : ""
                figs = figs (figs == "" ? "" : "; ") lab v
            }
            if (figs == "" && !rows) { printf "| %s | *%s* | |\n", bench, cell(f[1]); next }
            rows++
            printf "| %s | %s | %s |\n", bench, cell(f[1]), figs
        }' "$2"
}

write_all() {
    local name f mode
    mode="small N (bench/all.sh's defaults: figures only show the scripts run)"
    [ "${FULL:-0}" = 1 ] && mode="full N (each script's defaults)"
    echo "# all benchmarks: $START"
    echo
    echo "- command: \`sudo $([ "${FULL:-0}" = 1 ] && echo "FULL=1 ")bench/all.sh\`, $mode"
    local commit
    commit=$(git -c safe.directory='*' -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
    if [ "$BERTH" = "$ROOT/target/release/berth" ]; then
        echo "- berth: commit $commit, release build (\`cargo build --release --locked\`)"
    else
        echo "- berth: $BERTH (BERTH=; the checkout running the scripts is at $commit)"
    fi
    echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ {print $2}') GB, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "- load average (1, 5, 15 min): $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    cat "$W"/results/*/*.md 2>/dev/null | grep -E '^- peers?:' | sort -u || true
    [ ${#failed[@]} = 0 ] || echo "- FAILED: ${failed[*]} (see below)"
    echo
    echo "| benchmark | metric | figures (medians; ratios as each benchmark defines them) |"
    echo "|---|---|---|"
    for name in "${ORDER[@]}"; do
        [[ " $ONLY " == *" $name "* ]] || continue
        f=$(ls "$W/results/$name"/*.md 2>/dev/null | head -1)
        if [ -z "$f" ]; then echo "| $name | failed | see its output below |"; continue; fi
        table_rows "$name" "$f"
    done
    echo
    echo "Each benchmark's own result file follows (its command, peers, load, full table)."
    for name in "${ORDER[@]}"; do
        [[ " $ONLY " == *" $name "* ]] || continue
        echo
        f=$(ls "$W/results/$name"/*.md 2>/dev/null | head -1)
        if [ -n "$f" ]; then
            sed 's/^# /## /' "$f"
        else
            echo "## $name: failed"
            echo
            echo '```'
            tail -20 "$W/logs/$name.log"
            echo '```'
        fi
    done
}

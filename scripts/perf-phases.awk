# perf-phases.awk: what the PostgreSQL backends of an import spend their CPU
# on, from a call-graph profile:
#   perf record -e cpu-clock -g -p <backend pids> -o perf.data -- sleep 30
#   perf script -i perf.data -F ip,sym | awk -f scripts/perf-phases.awk
# Each sample goes to a phase (inside the statement trigger, the COPY's own
# rows, another statement, the commit) and an activity: the frame nearest
# the leaf that names one (PostgreSQL's static functions have no symbol in
# Debian's stripped binary, so their exported callers name them: a WAL
# write from a full WAL buffer counts under "WAL records"). A sample whose
# leaf is in the kernel is counted "in the kernel" too.
function flush() {
	if (n == 0) return
	phase = "other"
	for (i = 1; i <= n; i++) {
		if (s[i] == "AfterTriggerEndQuery") { phase = "summary trigger"; break }
	}
	if (phase == "other") for (i = 1; i <= n; i++) if (s[i] == "CopyFrom") { phase = "COPY rows"; break }
	if (phase == "other") for (i = 1; i <= n; i++) if (s[i] ~ /^(exec_simple_query|exec_execute_message|exec_bind_message|exec_parse_message)$/) { phase = "other statements"; break }
	if (phase == "other") for (i = 1; i <= n; i++) if (s[i] ~ /CommitTransaction/) { phase = "commit"; break }
	act = "CPU, other"
	for (i = 1; i <= n; i++) {
		x = s[i]
		if (x ~ /^(XLogWrite|XLogFlush|issue_xlog_fsync|XLogBackgroundFlush)$/) { act = "WAL write/flush"; break }
		if (x ~ /^(FlushBuffer|FlushOneBuffer|mdwrite|smgrwrite|FileWrite|mdwritev|smgrwritev)$/) { act = "writing a dirty buffer out"; break }
		if (x ~ /^(mdread|smgrread|mdreadv|FileRead)$/) { act = "reading a page in"; break }
		if (x ~ /^(mdextend|smgrextend|mdzeroextend)$/) { act = "extending a file"; break }
		if (x ~ /^(XLogInsert|XLogInsertRecord|XLogRegisterBuffer|XLogRecordAssemble)$/) { act = "WAL records, their pages, writing the WAL"; break }
		if (x ~ /^_bt_/) { act = "B-tree search/insert (CPU)"; break }
		if (x ~ /^(tuplesort_|qsort|pg_qsort)/) { act = "sort (CPU)"; break }
		if (x ~ /^(BufferAlloc|ReadBuffer_common|ReadBufferExtended|StrategyGetBuffer|hash_search_with_hash_value)$/) { act = "buffers, hash tables, locks (CPU)"; break }
	}
	c[phase "|" act]++; p[phase]++; a[act]++; t++; if (k1) { ka[act]++; kt++ }
	n = 0
}
NF == 0 { flush(); next }
{ n++; if (n == 1) k1 = ($1 ~ /^ffffffff/); $1 = ""; sub(/^ /, ""); s[n] = $0 }
END {
	flush()
	printf "# %d samples\n# by phase\n", t
	for (k in p) printf "%-22s %6.1f %%\n", k, 100 * p[k] / t
	printf "# by activity\n"
	for (k in a) printf "%-36s %6.1f %%  (in the kernel: %.1f %%)\n", k, 100 * a[k] / t, 100 * ka[k] / t
	printf "# in the kernel, all: %.1f %%\n", 100 * kt / t
	printf "# by phase and activity\n"
	for (k in c) printf "%-56s %6.1f %%\n", k, 100 * c[k] / t
}

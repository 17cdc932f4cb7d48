# bench/stats.awk — the figures compare.sh, levers.sh and beside.sh read
# from wrk, for gawk (asort): awk -f bench/stats.awk -e 'PROGRAM'.

# ms turns a wrk latency ("1.23ms", "950.00us", "1.02s") into milliseconds
# ("" for anything else, such as n/a).
function ms(s) {
	if (s ~ /us$/) return substr(s, 1, length(s)-2) / 1000
	if (s ~ /ms$/) return substr(s, 1, length(s)-2) + 0
	if (s ~ /s$/) return substr(s, 1, length(s)-1) * 1000
	return ""
}

# median of a space-separated list of numbers ("" for none).
function median(list,    v, n) {
	n = split(list, v, " ")
	if (n == 0) return ""
	asort(v)
	return (n % 2) ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2
}

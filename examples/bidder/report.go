package main

import (
	"fmt"
	"slices"
	"strings"
)

// The report of bidder bench: Markdown tables of every round, medians and
// ratios to the baseline, and the targets of the scope strategy.

// scopeName is the strategy the targets are set for.
const scopeName = "scope"

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// get returns the samples of one measurement of one strategy, by round.
func (b *bench) get(measure string, g int, alloc string) []sample {
	var out []sample
	for _, s := range b.samples {
		if s.measure == measure && s.g == g && s.alloc == alloc {
			out = append(out, s)
		}
	}
	return out
}

// values applies f to each sample.
func values(ss []sample, f func(sample) float64) []float64 {
	xs := make([]float64, len(ss))
	for i, s := range ss {
		xs[i] = f(s)
	}
	return xs
}

// ratios returns f of each sample of ss over f of the baseline's sample of
// the same round, and the ratio of the medians.
func ratios(ss, base []sample, f func(sample) float64) (perRound []float64, ofMedians float64) {
	byRound := map[int]float64{}
	for _, s := range base {
		byRound[s.round] = f(s)
	}
	for _, s := range ss {
		if v, ok := byRound[s.round]; ok && v != 0 {
			perRound = append(perRound, f(s)/v)
		}
	}
	if m := median(values(base, f)); m != 0 {
		ofMedians = median(values(ss, f)) / m
	}
	return perRound, ofMedians
}

func list(xs []float64, format string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, ", ")
}

// ratioCell formats a ratio of medians with the ratio of every round.
func ratioCell(perRound []float64, r float64, name string) string {
	if name == Baseline {
		return "1"
	}
	return fmt.Sprintf("%.2f× (%s)", r, list(perRound, "%.2f"))
}

func met(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**not met**"
}

func (b *bench) report(w *strings.Builder, profiles map[string]string) {
	docs := map[string]string{arenaName: "Go arenas + json v2"}
	for _, st := range Strategies() {
		docs[st.Name] = st.Doc
	}
	fmt.Fprintf(w, "### This run\n\n")
	for _, e := range b.env {
		fmt.Fprintf(w, "- %s\n", e)
	}
	fmt.Fprintf(w, "\nStrategies: ")
	for i, n := range b.names {
		if i > 0 {
			fmt.Fprintf(w, "; ")
		}
		fmt.Fprintf(w, "`%s` (%s)", n, docs[n])
	}
	fmt.Fprintf(w, ". Ratios are to `%s`, round by round in parentheses. Every load average, duration and peak RSS is in `bench/bidder.txt`.\n", Baseline)

	type key struct {
		g     int
		alloc string
	}
	cpuMed, noGCMed, allocsMed := map[key]float64{}, map[key]float64{}, map[key]float64{}
	cpuRatio, noGCRatio := map[key]float64{}, map[key]float64{}
	minCycles := map[int]float64{}
	for _, g := range b.c.goroutines {
		fmt.Fprintf(w, "\n### CPU per request, whole process, %d goroutine(s)\n\n", g)
		fmt.Fprintf(w, "| strategy | µs per request, GC included, per round | median | vs %s | GC share | of which GC | without GC | vs %s | allocs/req | B/req | GC cycles | peak RSS |\n", Baseline, Baseline)
		fmt.Fprintf(w, "|---|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|\n")
		base := b.get("cpu", g, Baseline)
		for _, name := range b.names {
			ss := b.get("cpu", g, name)
			if len(ss) == 0 {
				continue
			}
			k := key{g, name}
			cpu := values(ss, sample.cpuUS)
			pr, r := ratios(ss, base, sample.cpuUS)
			npr, nr := ratios(ss, base, sample.noGCUS)
			cpuMed[k], cpuRatio[k] = median(cpu), r
			noGCMed[k], noGCRatio[k] = median(values(ss, sample.noGCUS)), nr
			allocsMed[k] = median(values(ss, func(s sample) float64 { return s.perReq("allocs") }))
			cycles := values(ss, func(s sample) float64 { return s.num("gc-cycles") })
			if name == Baseline {
				minCycles[g] = slices.Min(cycles)
			}
			fmt.Fprintf(w, "| %s | %s | %.1f | %s | %.1f%% | %.1f µs | %.1f µs | %s | %.1f | %.0f | %s | %.0f MiB |\n",
				name, list(cpu, "%.1f"), median(cpu), ratioCell(pr, r, name),
				100*median(values(ss, func(s sample) float64 { return s.num("gc-share") })),
				median(values(ss, sample.gcUS)), noGCMed[k], ratioCell(npr, nr, name),
				allocsMed[k], median(values(ss, func(s sample) float64 { return s.perReq("bytes") })),
				list(cycles, "%.0f"), mib(median(values(ss, func(s sample) float64 { return float64(s.maxRSS) }))))
		}
	}

	fmt.Fprintf(w, "\n### Decoding the request alone\n\n")
	fmt.Fprintf(w, "| strategy | µs per decode, GC included, per round | median | vs %s | without GC | vs %s | allocs | B |\n", Baseline, Baseline)
	fmt.Fprintf(w, "|---|---|---:|---|---:|---|---:|---:|\n")
	decRatio, decNoGCRatio := map[string]float64{}, map[string]float64{}
	for _, name := range b.names {
		ss, base := b.get("decode", 1, name), b.get("decode", 1, Baseline)
		if len(ss) == 0 {
			continue
		}
		pr, r := ratios(ss, base, sample.cpuUS)
		npr, nr := ratios(ss, base, sample.noGCUS)
		decRatio[name], decNoGCRatio[name] = r, nr
		fmt.Fprintf(w, "| %s | %s | %.1f | %s | %.1f | %s | %.1f | %.0f |\n",
			name, list(values(ss, sample.cpuUS), "%.1f"), median(values(ss, sample.cpuUS)), ratioCell(pr, r, name),
			median(values(ss, sample.noGCUS)), ratioCell(npr, nr, name),
			median(values(ss, func(s sample) float64 { return s.perReq("allocs") })),
			median(values(ss, func(s sample) float64 { return s.perReq("bytes") })))
	}

	heldRatio, afterMiB := map[string]float64{}, map[string]float64{}
	if b.c.heapRounds > 0 {
		fmt.Fprintf(w, "\n### %d requests in flight\n\n", b.c.held)
		fmt.Fprintf(w, "Live heap (what the GC marked) above the process's before the requests, with every request held, then after all are released and two `runtime.GC()`; heap in use adds the free slots of the spans.\n\n")
		fmt.Fprintf(w, "| strategy | live heap held, MiB per round | median | vs %s | after release + 2 GCs, MiB per round | heap in use held | in use after |\n", Baseline)
		fmt.Fprintf(w, "|---|---|---:|---|---|---:|---:|\n")
		held := func(s sample) float64 { return mib(s.num("held-live") - s.num("base-live")) }
		after := func(s sample) float64 { return mib(s.num("after-live") - s.num("base-live")) }
		for _, name := range b.names {
			ss, base := b.get("inflight", 1, name), b.get("inflight", 1, Baseline)
			if len(ss) == 0 {
				continue
			}
			pr, r := ratios(ss, base, held)
			heldRatio[name], afterMiB[name] = r, median(values(ss, after))
			fmt.Fprintf(w, "| %s | %s | %.1f | %s | %s | %.1f | %+.2f |\n",
				name, list(values(ss, held), "%.1f"), median(values(ss, held)), ratioCell(pr, r, name),
				list(values(ss, after), "%+.2f"),
				median(values(ss, func(s sample) float64 { return mib(s.num("held-inuse") - s.num("base-inuse")) })),
				median(values(ss, func(s sample) float64 { return mib(s.num("after-inuse") - s.num("base-inuse")) })))
		}
	}

	fmt.Fprintf(w, "\n### Targets of `%s`, against `%s` in the same run\n\n", scopeName, Baseline)
	for _, g := range b.c.goroutines {
		k := key{g, scopeName}
		fmt.Fprintf(w, "- CPU per request, GC included, %d goroutine(s): ≤ 0.75×: %.2f× (%.1f against %.1f µs): %s\n",
			g, cpuRatio[k], cpuMed[k], cpuMed[key{g, Baseline}], met(cpuRatio[k] > 0 && cpuRatio[k] <= 0.75))
	}
	for _, g := range b.c.goroutines {
		k := key{g, scopeName}
		fmt.Fprintf(w, "- CPU per request without GC (the GC's share subtracted), %d goroutine(s): ≤ 1.0×: %.2f× (%.1f against %.1f µs): %s\n",
			g, noGCRatio[k], noGCMed[k], noGCMed[key{g, Baseline}], met(noGCRatio[k] > 0 && noGCRatio[k] <= 1.0))
	}
	fmt.Fprintf(w, "- Decoding the request, the decoder's own work (GC's share subtracted): ≤ 1.0×: %.2f× (%.2f× with the GC's share): %s\n",
		decNoGCRatio[scopeName], decRatio[scopeName], met(decNoGCRatio[scopeName] > 0 && decNoGCRatio[scopeName] <= 1.0))
	if b.c.heapRounds > 0 {
		fmt.Fprintf(w, "- Live heap with %d requests in flight: ≤ 1.1×: %.2f×: %s\n",
			b.c.held, heldRatio[scopeName], met(heldRatio[scopeName] > 0 && heldRatio[scopeName] <= 1.1))
		fmt.Fprintf(w, "- Live heap after they are released and two GCs: ≤ +5 MiB: %+.2f MiB (%s: %+.2f MiB): %s\n",
			afterMiB[scopeName], Baseline, afterMiB[Baseline], met(afterMiB[scopeName] <= 5))
	}
	a := allocsMed[key{1, scopeName}]
	fmt.Fprintf(w, "- Allocations per request: ≤ 5: %.1f: %s\n", a, met(a <= 5))
	if _, ok := cpuMed[key{1, arenaName}]; ok {
		fmt.Fprintf(w, "- For comparison, Go arenas + json v2: %.2f× `%s` on one goroutine; `%s` costs %.2f× the arenas' CPU per request.\n",
			cpuRatio[key{1, arenaName}], Baseline, scopeName, cpuMed[key{1, scopeName}]/cpuMed[key{1, arenaName}])
	}
	for _, g := range b.c.goroutines {
		if c, ok := minCycles[g]; ok {
			fmt.Fprintf(w, "- GC cycles of `%s` per measurement, %d goroutine(s): at least %.0f (10 are asked for): %s\n", Baseline, g, c, met(c >= 10))
		}
	}

	if len(profiles) > 0 {
		fmt.Fprintf(w, "\n### Where the CPU goes\n\n`go tool pprof -top` of one more serial run of each strategy (`bench/bidder-profile-*.txt` has 25 lines of each); the first lines:\n")
		for _, name := range b.names {
			top, ok := profiles[name]
			if !ok {
				continue
			}
			lines := strings.Split(strings.TrimSpace(top), "\n")
			start := 0
			for i, l := range lines {
				if strings.Contains(l, "flat%") {
					start = i
					break
				}
			}
			end := min(len(lines), start+11)
			fmt.Fprintf(w, "\n`%s`:\n\n```\n%s\n```\n", name, strings.Join(lines[start:end], "\n"))
		}
	}
}

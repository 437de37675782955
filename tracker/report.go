package tracker

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/slabtrack/slabtrack/internal/debugmode"
	"github.com/slabtrack/slabtrack/internal/guard"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/violation"
	"github.com/slabtrack/slabtrack/slab"
)

// PoolReport is the state of one pool, as WriteReport prints it and as
// expvar publishes it (package tracker/trackerhttp).
type PoolReport struct {
	Name  string
	Type  string
	Stats slab.Stats
	// Live and LiveBytes count the objects allocated and not freed.
	Live      int64
	LiveBytes int64
	// Quarantined counts the freed slots held in the debug quarantine
	// (0 in default builds). The free slots that per-P caches and scopes
	// hold are Stats.Cached and Stats.ScopeFree.
	Quarantined int
	// Sites groups the live objects by allocation stack: all of them in
	// debug builds, the sampled ones in default builds (WithSampling; see
	// Site.Sampled).
	Sites []Site `json:",omitempty"`
	// Dropped groups the objects found unreachable without Free (debug
	// builds with drop detection).
	Dropped []Site `json:",omitempty"`
	// Violations counts the violations reported on the pool since the
	// program started, by kind (such as "double-free"); debug builds.
	Violations map[string]uint64 `json:",omitempty"`
}

// statser is what a slab.Pool registers beside a registry.Pool: package
// registry, below slab, cannot name slab.Stats.
type statser interface{ Stats() slab.Stats }

// stats returns the Stats of the registered pool p, or none if p is not a
// slab.Pool (a test's stand-in).
func stats(p registry.Pool) slab.Stats {
	if s, ok := p.(statser); ok {
		return s.Stats()
	}
	return slab.Stats{}
}

// Pools returns the state of every pool of the process, sorted by name.
func Pools() []PoolReport {
	var out []PoolReport
	registry.Each(func(p registry.Pool) {
		r := report(p)
		c := p.Counters()
		r.Sites = liveSites(p)
		r.Dropped = groupSites(c, p.Dropped(nil), true)
		sortSites(r.Sites)
		sortSites(r.Dropped)
		out = append(out, r)
	})
	sortReports(out)
	return out
}

// PoolTotals returns the state of every pool as Pools does, sorted by name
// and type, but with no Sites or Dropped, and with the pools that share a
// name and a type added up into one report: one per series of a metrics
// exporter, which tells pools apart by these two labels alone (two
// unnamed pools of one type share both). Its cost grows
// with the number of pools, not of live objects, which Pools groups by
// stack in debug builds: it is what a scrape should call.
//
// Added up, the figures keep their meaning: Live is the live objects of
// all the pools, HighWater bounds the peak of their sum, MaxObjects is the
// sum of their bounds (0, unbounded, if one of them has none). Violations are counted by pool name (see
// PoolReport), so pools that share a name share them: they are not added.
// A pool that the garbage collector takes away leaves the sum, so a
// cumulative count of its name and type can fall; metrics systems read
// that as a counter reset.
func PoolTotals() []PoolReport {
	var all []PoolReport
	registry.Each(func(p registry.Pool) { all = append(all, report(p)) })
	sortReports(all)
	// Sorted, the pools of one name and type are neighbours.
	out := all[:0]
	for _, r := range all {
		if n := len(out); n > 0 && out[n-1].Name == r.Name && out[n-1].Type == r.Type {
			t := &out[n-1]
			addStats(&t.Stats, r.Stats)
			t.Live += r.Live
			t.LiveBytes += r.LiveBytes
			t.Quarantined += r.Quarantined
			continue
		}
		out = append(out, r)
	}
	return out
}

// report returns the state of the registered pool p without its sites.
func report(p registry.Pool) PoolReport {
	c := p.Counters()
	st := stats(p)
	return PoolReport{
		Name:        c.Name,
		Type:        c.Type,
		Stats:       st,
		Live:        st.Live,
		LiveBytes:   st.Live * int64(c.Size),
		Quarantined: c.Quarantined,
		Violations:  violation.Counts(c.Name),
	}
}

func sortReports(rs []PoolReport) {
	slices.SortFunc(rs, func(a, b PoolReport) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Type, b.Type))
	})
}

// addStats adds the counts of b to a. TestAddStatsAddsEveryCount checks
// that it leaves out no field of slab.Stats.
func addStats(a *slab.Stats, b slab.Stats) {
	a.Live += b.Live
	a.Allocs += b.Allocs
	a.Frees += b.Frees
	a.Scoped += b.Scoped
	a.Capacity += b.Capacity
	a.Slabs += b.Slabs
	a.Bytes += b.Bytes
	a.Cached += b.Cached
	a.ScopeFree += b.ScopeFree
	a.HighWater += b.HighWater
	a.Retired += b.Retired
	a.Trimmed += b.Trimmed
	a.TrimmedBytes += b.TrimmedBytes
	a.GuardFallbacks += b.GuardFallbacks
	if a.MaxObjects == 0 || b.MaxObjects == 0 {
		a.MaxObjects = 0 // one of them is unbounded, and so is the sum
	} else {
		a.MaxObjects += b.MaxObjects
	}
	a.Exhausted += b.Exhausted
}

// maxSitesShown bounds the sites WriteReport prints per pool.
const maxSitesShown = 20

// WriteReport writes a plain-text report of every pool: its statistics, its
// live objects grouped by allocation site (debug builds), the objects
// dropped without Free, the violations reported so far (counts, and the
// latest in full), and what a check of the quarantines finds now. It is
// what the /debug/slab handler of package tracker/trackerhttp serves.
//
// The report leaves out the bytes that a write after free wrote (they may
// be any data of the program: tokens, personal data); the
// ViolationHandler receives them, and the violation's Error text has them.
//
// It takes nothing away from the handler: a write after free that its
// check finds is reported like one found anywhere else (to the
// ViolationHandler, or by default to standard error and to the next
// Check), exactly once, and the report shows it among the latest
// violations.
func WriteReport(w io.Writer) error {
	for _, v := range scan("/debug/slab") {
		violation.Report(v)
	}
	var b strings.Builder
	s := CurrentSettings()
	if debugmode.Enabled {
		fmt.Fprintf(&b, "slabtrack: debug build (stack=%d sample=%d quarantine=%d dropped=%t pprof=%t guard=%t)\n",
			s.StackDepth, s.SampleEvery, s.Quarantine, s.DropCheck, s.Profile, s.GuardPages)
	} else {
		b.WriteString("slabtrack: default build: live objects are counted; their allocation sites are recorded only for the objects that pools with slab.WithSampling sample; rebuild with -tags slabdebug for every site\n")
	}
	if guard.InUse() {
		g := guard.Budget()
		fmt.Fprintf(&b, "guard pages: %d slot(s) protected, %d of a budget of %d kernel mappings (vm.max_map_count %d) in use, %d protection(s) refused for want of budget\n",
			g.Protected, g.Used, g.Limit, g.MaxMapCount, g.Refused)
	}
	pools := Pools()
	fmt.Fprintf(&b, "%d pool(s)\n", len(pools))
	for _, p := range pools {
		fmt.Fprintf(&b, "\npool %q (%s): %d live, %d bytes\n", p.Name, p.Type, p.Live, p.LiveBytes)
		fmt.Fprintf(&b, "  stats: %s\n", strings.Trim(fmt.Sprintf("%+v", p.Stats), "{}"))
		if debugmode.Enabled {
			fmt.Fprintf(&b, "  quarantined: %d\n", p.Quarantined)
		}
		writeSites(&b, "live objects", p.Sites)
		writeSites(&b, "dropped without Free", p.Dropped)
		if len(p.Violations) > 0 {
			kinds := slices.Sorted(maps.Keys(p.Violations))
			b.WriteString("  violations reported:")
			for _, k := range kinds {
				fmt.Fprintf(&b, " %s %d", k, p.Violations[k])
			}
			b.WriteString("\n")
		}
	}
	if debugmode.Enabled {
		recent := violation.Recent()
		if len(recent) == 0 {
			b.WriteString("\nviolations reported: none\n")
		} else {
			fmt.Fprintf(&b, "\nlatest violations reported (at most %d, oldest first):\n", violation.MaxRecent)
			for _, v := range recent {
				// Without the bytes found in freed memory: the page is
				// served over HTTP, and they may be any data.
				fmt.Fprintf(&b, "\n%s\n", violation.Text(v, false))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeSites(b *strings.Builder, what string, sites []Site) {
	if len(sites) == 0 {
		return
	}
	fmt.Fprintf(b, "  %s by allocation site:\n", what)
	for i, s := range sites {
		if i == maxSitesShown {
			fmt.Fprintf(b, "    ... and %d more site(s)\n", len(sites)-i)
			break
		}
		if s.Sampled > 0 && s.Sampled != s.Objects {
			fmt.Fprintf(b, "    about %d object(s), %d bytes (%d sampled, one in about %d), age %s to %s, allocated from:\n",
				s.Objects, s.Bytes, s.Sampled, s.Objects/s.Sampled, violation.RoundAge(s.MinAge), violation.RoundAge(s.MaxAge))
		} else {
			fmt.Fprintf(b, "    %d object(s), %d bytes, age %s to %s, allocated from:\n", s.Objects, s.Bytes, violation.RoundAge(s.MinAge), violation.RoundAge(s.MaxAge))
		}
		if len(s.Stack) == 0 {
			b.WriteString("    " + violation.NoStack + "\n")
		}
		for j, f := range s.Stack {
			fmt.Fprintf(b, "        #%d %s %s:%d\n", j, f.Function, f.File, f.Line)
		}
	}
}

// ScopePools returns the Stats of every slab.ScopePool that has handed out
// a scope and has not been collected, in the order of their first Get: the
// scopes in flight, the memory they have taken, what a request allocates.
// It takes no lock that Get or Put takes.
func ScopePools() []slab.ScopePoolStats {
	var out []slab.ScopePoolStats
	registry.EachScopePool(func(sp any) {
		if s, ok := sp.(interface{ Stats() slab.ScopePoolStats }); ok {
			out = append(out, s.Stats())
		}
	})
	return out
}

// ScopePoolTotals returns what ScopePools does, sorted by name, with the
// ScopePools that share a name added up into one: one per series of a
// metrics exporter, which tells them apart by name alone. Every figure of
// ScopePoolStats adds up.
func ScopePoolTotals() []slab.ScopePoolStats {
	all := ScopePools()
	slices.SortStableFunc(all, func(a, b slab.ScopePoolStats) int { return cmp.Compare(a.Name, b.Name) })
	out := all[:0]
	for _, s := range all {
		if n := len(out); n > 0 && out[n-1].Name == s.Name {
			addScopeStats(&out[n-1], s)
			continue
		}
		out = append(out, s)
	}
	return out
}

// addScopeStats adds the counts of b to a. TestAddScopeStatsAddsEveryCount
// checks that it leaves out no field of slab.ScopePoolStats.
func addScopeStats(a *slab.ScopePoolStats, b slab.ScopePoolStats) {
	a.InUse += b.InUse
	a.Gets += b.Gets
	a.InUseBytes += b.InUseBytes
	a.AllocatedBytes += b.AllocatedBytes
	a.LimitErrors += b.LimitErrors
}

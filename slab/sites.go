package slab

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/stack"
)

// The allocation sites of live objects in the message of the exhaustion
// error (exhaustedError, errors.go): the objects grouped by the stack that
// allocated them, the largest groups first.

// maxSitesInError bounds the allocation sites an exhaustion error names.
const maxSitesInError = 3

// liveSitesText describes where the live objects objs were allocated, the
// sites that hold the most first, one line each, for the exhaustion error:
// every live object in debug builds, the sampled ones (WithSampling) in
// default builds, each of which stands for Weight objects. It returns ""
// if objs is empty.
func liveSitesText(objs []registry.Object) string {
	if len(objs) == 0 {
		return ""
	}
	now := clock.Now()
	type site struct {
		n, sampled, every int // objects, estimated if sampled; sampled records; the period
		oldest, newest    int64
		frames            []runtime.Frame
	}
	byID := map[stack.ID]*site{}
	for _, o := range objs {
		s := byID[o.Stack]
		if s == nil {
			s = &site{oldest: o.AllocAt, newest: o.AllocAt}
			byID[o.Stack] = s
		}
		s.n += max(1, o.Weight)
		if o.Weight > 0 {
			s.sampled++
			s.every = o.Weight
		}
		s.oldest, s.newest = min(s.oldest, o.AllocAt), max(s.newest, o.AllocAt)
	}
	// Stacks that differ only inside slabtrack make one site.
	byKey := map[string]*site{}
	for id, s := range byID {
		fr := id.Frames()
		var key strings.Builder
		for _, f := range fr {
			fmt.Fprintf(&key, "%s %s:%d\n", f.Function, f.File, f.Line)
		}
		if m := byKey[key.String()]; m != nil {
			m.n += s.n
			m.sampled += s.sampled
			m.oldest, m.newest = min(m.oldest, s.oldest), max(m.newest, s.newest)
			continue
		}
		s.frames = fr
		byKey[key.String()] = s
	}
	sites := make([]*site, 0, len(byKey))
	for _, s := range byKey {
		sites = append(sites, s)
	}
	slices.SortFunc(sites, func(a, b *site) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.oldest, b.oldest)) })
	var b strings.Builder
	for k, s := range sites {
		if k == maxSitesInError {
			rest := 0
			for _, r := range sites[k:] {
				rest += r.n
			}
			fmt.Fprintf(&b, "    and %d more site(s) holding %s: tracker.Find and /debug/slab list every site", len(sites)-k, objects(rest, sites[k].every > 1))
			break
		}
		if k > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "    %s", objects(s.n, s.every > 1))
		if s.every > 1 {
			fmt.Fprintf(&b, " (%d sampled, one in about %d)", s.sampled, s.every)
		}
		fmt.Fprintf(&b, ", allocated %v to %v ago, at ", clock.Round(clock.Since(now, s.newest)), clock.Round(clock.Since(now, s.oldest)))
		if len(s.frames) == 0 {
			b.WriteString("(no stack recorded: see SLABTRACK_DEBUG stack= and sample=)")
			continue
		}
		for j, f := range s.frames[:min(len(s.frames), 3)] {
			if j > 0 {
				b.WriteString(" < ")
			}
			fmt.Fprintf(&b, "%s %s:%d", f.Function, f.File, f.Line)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// objects says "n object(s)", or "about n object(s)" for an estimate.
func objects(n int, estimate bool) string {
	if estimate {
		return fmt.Sprintf("about %d object(s)", n)
	}
	return fmt.Sprintf("%d object(s)", n)
}
